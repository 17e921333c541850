// The ffcuda command. Every ff::Error becomes one line on stderr and exit status 1.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ff/backend.hpp"
#include "ff/bench.hpp"
#include "ff/config.hpp"
#include "ff/devices.hpp"
#include "ff/error.hpp"
#include "ff/run.hpp"

namespace {

struct TrainOptions {
  ff::TrainConfig config;
  std::string task = "supervised", goodness = "sum", loss = "softplus";
};

void add_train_options(CLI::App& app, TrainOptions& o) {
  ff::TrainConfig& c = o.config;
  app.add_option("--dataset", c.dataset, "mnist | fashion-mnist | cifar10 | svhn")
      ->capture_default_str();
  app.add_option("--data-dir", c.data_dir, "folder of the dataset files (default data/<dataset>)");
  app.add_option("--task", o.task, "supervised | rotation | flip-h | flip-hv | jigsaw")
      ->capture_default_str();
  app.add_option("--layers", c.layers_spec, "hidden layers: LxN or a list like 784,2000,2000")
      ->capture_default_str();
  app.add_option("--algo", c.algo, "ff | bp-ce | bp-goodness-last | bp-goodness-all")->capture_default_str();
  app.add_option("--epochs", c.epochs, "pretraining epochs")->capture_default_str();
  app.add_option("--batch", c.batch, "positives per minibatch")->capture_default_str();
  app.add_option("--lr", c.lr, "learning rate")->capture_default_str();
  app.add_option("--optimizer", c.optimizer, "adam | sgd (with --momentum)")->capture_default_str();
  app.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  app.add_option("--seed", c.seed, "seed of init, shuffles, negatives, transforms")
      ->capture_default_str();
  app.add_option("--reuse-layer1", c.reuse_layer1,
                 "one layer-1 GEMM per image for rows differing only by label (true|false)")
      ->capture_default_str();
  app.add_option("--precision", c.precision,
                 "GEMM arithmetic: fp32 | tf32 (CUDA tensor cores) | bf16 (bf16 operands, fp32 "
                 "accumulation; emulated on the CPU)")
      ->capture_default_str();
  app.add_option("--pass-mode", c.pass_mode,
                 "FF step on CUDA: stacked (one [2B x D] GEMM per layer) | streams (positive and "
                 "negative GEMMs on two streams)")
      ->capture_default_str();
  app.add_option("--overlap", c.overlap,
                 "CUDA: weight gradient of layer l on its own stream, overlapping the forward of "
                 "layer l+1 (true|false)")
      ->capture_default_str();
  app.add_option("--graphs", c.graphs,
                 "capture the training step once as a CUDA graph and replay it: on | off | auto "
                 "(on for CUDA)")
      ->capture_default_str();
  app.add_option("--profile-steps", c.profile_steps,
                 "A:B: profiler capture (cudaProfilerStart/Stop) around global steps [A, B)");
  app.add_option("--goodness", o.goodness, "sum | mean (sum of squares or mean of squares)")
      ->capture_default_str();
  app.add_option("--threshold", c.threshold,
                 "goodness threshold theta (default: layer width for sum, 2 for mean)");
  app.add_option("--loss", o.loss, "softplus | symba")->capture_default_str();
  app.add_option("--score-layers", c.score_layers,
                 "layers summed by slow classification: default (all but the first) | all | "
                 "lastN | 1,3,...")
      ->capture_default_str();
  app.add_option("--eval-every", c.eval_every, "slow test evaluation every N epochs (0: at the end)")
      ->capture_default_str();
  app.add_option("--eval-batch", c.eval_batch, "images per evaluation chunk")->capture_default_str();
  app.add_option("--fast-epochs", c.fast_epochs, "epochs of the fast linear classifier")
      ->capture_default_str();
  app.add_option("--fast-lr", c.fast_lr, "learning rate of the fast classifier")
      ->capture_default_str();
  app.add_flag("--probe", c.probe, "after pretraining, train a linear probe on the class labels");
  app.add_option("--probe-epochs", c.probe_epochs, "epochs of the linear probe")->capture_default_str();
  app.add_option("--probe-lr", c.probe_lr, "learning rate of the linear probe")->capture_default_str();
  app.add_option("--probe-layers", c.probe_layers, "probe features: lastN | all | 1,3,...")
      ->capture_default_str();
  app.add_option("--save", c.save_path, "write a checkpoint (safetensors) at the end of training");
  app.add_option("--save-every", c.save_every, "also write it every N epochs");
  app.add_option("--resume", c.resume_path, "continue the run saved in this checkpoint");
  app.add_option("--train-limit", c.train_limit, "use only the first N training images (0: all)");
  app.add_option("--test-limit", c.test_limit, "use only the first N test images (0: all)");
  app.add_option("--device", c.device, "auto | cuda | cpu")->capture_default_str();
  app.add_option("--out", c.out_dir, "output folder (default runs/<dataset>-<task>-<algo>-<time>)");
}

ff::TrainConfig finish_config(const TrainOptions& o) {
  ff::TrainConfig c = o.config;
  c.task = ff::parse_task(o.task);
  ff::require(o.goodness == "sum" || o.goodness == "mean",
              "unknown --goodness '" + o.goodness + "': use sum or mean");
  c.goodness = o.goodness == "sum" ? ff::GoodnessMode::kSum : ff::GoodnessMode::kMean;
  ff::require(o.loss == "softplus" || o.loss == "symba",
              "unknown --loss '" + o.loss + "': use softplus or symba");
  c.loss = o.loss == "softplus" ? ff::FfLossKind::kSoftplus : ff::FfLossKind::kSymba;
  ff::require(c.batch > 0, "--batch must be positive");
  ff::require(c.eval_batch > 0, "--eval-batch must be positive");
  ff::require(c.lr > 0, "--lr must be positive");
  ff::parse_precision(c.precision);
  ff::parse_pass_mode_streams(c.pass_mode);
  ff::parse_graphs(c.graphs, /*cuda_backend=*/true);  // the name; the trainer checks the backend
  ff::parse_profile_steps(c.profile_steps);
  return c;
}

int print_devices() {
  std::string why;
  const auto devices = ff::list_cuda_devices(&why);
  std::printf("CUDA backend compiled in: %s\n", ff::cuda_compiled_in() ? "yes" : "no");
  if (devices.empty()) std::printf("no CUDA device: %s\n", why.c_str());
  for (const auto& d : devices) {
    std::printf("cuda:%d  %s  sm_%d%d  %d SMs  %.1f GiB (%.1f GiB free)\n", d.index,
                d.name.c_str(), d.major, d.minor, d.multiprocessors,
                d.total_memory / 1073741824.0, d.free_memory / 1073741824.0);
  }
  std::printf("cpu     %s\n", ff::make_cpu_backend()->name().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ffcuda: Forward-Forward training engine (CUDA + CPU reference)"};
  app.require_subcommand(1);
  TrainOptions train_options;
  CLI::App* train = app.add_subcommand("train", "pretrain a network, then evaluate it");
  add_train_options(*train, train_options);
  CLI::App* devices = app.add_subcommand("devices", "list the devices ffcuda can use");
  TrainOptions bench_options;
  ff::BenchConfig bench_config;
  CLI::App* bench = app.add_subcommand("bench", "time the training step and slow evaluation");
  add_train_options(*bench, bench_options);
  bench->add_option("--warmup", bench_config.warmup, "untimed steps first")->capture_default_str();
  bench->add_option("--iters", bench_config.iterations, "timed steps")->capture_default_str();
  bench->add_option("--eval-images", bench_config.eval_images, "images of the slow-eval timing")
      ->capture_default_str();
  bench->add_option("--json", bench_config.json_path, "write the results as JSON here");
  ff::ProbeRequest probe_request;
  CLI::App* probe = app.add_subcommand("probe", "linear-probe transfer of a saved network");
  probe->add_option("--checkpoint", probe_request.checkpoint_path, "checkpoint written by --save")
      ->required();
  probe->add_option("--probe-epochs", probe_request.probe_epochs, "epochs of the linear probe")
      ->capture_default_str();
  probe->add_option("--probe-lr", probe_request.probe_lr, "learning rate")->capture_default_str();
  probe->add_option("--probe-layers", probe_request.probe_layers, "lastN | all | 1,3,...")
      ->capture_default_str();
  probe->add_option("--data-dir", probe_request.data_dir, "dataset folder (default: as trained)");
  probe->add_option("--device", probe_request.device, "auto | cuda | cpu")->capture_default_str();
  probe->add_option("--out", probe_request.out_dir, "output folder");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*devices) return print_devices();
    if (*train) ff::run_training(finish_config(train_options));
    if (*probe) ff::run_probe(probe_request);
    if (*bench) {
      bench_config.train = finish_config(bench_options);
      ff::run_bench(bench_config);
    }
    return 0;
  } catch (const ff::Error& e) {
    std::cerr << "ffcuda: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ffcuda: internal error: " << e.what() << "\n";
    return 2;
  }
}
