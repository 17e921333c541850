// The ffcuda command. Every ff::Error becomes one line on stderr and exit status 1; an internal
// error (ff::InternalError, or any other exception) one line and exit status 2.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ff/backend.hpp"
#include "ff/bench.hpp"
#include "ff/config.hpp"
#include "ff/cuda_plugin.hpp"
#include "ff/devices.hpp"
#include "ff/embed.hpp"
#include "ff/error.hpp"
#include "ff/run.hpp"
#include "ff/study.hpp"
#include "ff/version.hpp"

namespace {

// An option whose value is one of an enum's names, parsed with its name table (ff/config.hpp):
// the help lists the names, and an unknown one is refused with the table's message.
template <class E>
CLI::Option* add_enum_option(CLI::App& app, const std::string& flag, E& value,
                             const std::string& help) {
  CLI::Option* option = app.add_option_function<std::string>(
      flag, [&value](const std::string& name) { value = ff::parse_enum<E>(name); },
      help + " (" + ff::enum_choices<E>() + ")");
  option->default_str(ff::enum_name(value));
  return option;
}

void add_train_options(CLI::App& app, ff::TrainConfig& c) {
  app.add_option("--dataset", c.dataset, "mnist | fashion-mnist | cifar10 | svhn")
      ->capture_default_str();
  app.add_option("--data-dir", c.data_dir, "folder of the dataset files (default data/<dataset>)");
  app.add_option("--classes", c.classes,
                 "only these classes, e.g. 0,1 (renumbered 0..n-1 in this order; default all)");
  add_enum_option(app, "--task", c.task, "pretraining task");
  app.add_option("--layers", c.layers_spec, "hidden layers: LxN or a list like 784,2000,2000")
      ->capture_default_str();
  add_enum_option(app, "--algo", c.algo, "training algorithm");
  app.add_option("--epochs", c.epochs, "pretraining epochs")->capture_default_str();
  app.add_option("--batch", c.batch, "positives per minibatch")->capture_default_str();
  app.add_option("--lr", c.lr, "learning rate")->capture_default_str();
  add_enum_option(app, "--optimizer", c.optimizer, "optimiser (sgd uses --momentum)");
  app.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  app.add_option("--seed", c.seed, "seed of init, shuffles, negatives, transforms")
      ->check([](const std::string& text) {
        return !text.empty() && text[0] == '-' ? std::string("must be >= 0") : std::string();
      })
      ->capture_default_str();
  app.add_option("--reuse-layer1", c.reuse_layer1,
                 "one layer-1 GEMM per image for rows differing only by label (true|false)")
      ->capture_default_str();
  add_enum_option(app, "--precision", c.precision,
                  "GEMM arithmetic: fp32, tf32 (CUDA tensor cores), bf16 (bf16 operands, fp32 "
                  "accumulation; emulated on the CPU)");
  add_enum_option(app, "--pass-mode", c.pass_mode,
                  "FF step on CUDA: stacked (one [2B x D] GEMM per layer) or streams (positive "
                  "and negative GEMMs on two streams)");
  app.add_option("--overlap", c.overlap,
                 "CUDA: weight gradient of layer l on its own stream, overlapping the forward of "
                 "layer l+1 (true|false)")
      ->capture_default_str();
  add_enum_option(app, "--graphs", c.graphs,
                  "capture the training step once as a CUDA graph and replay it (auto: on for "
                  "CUDA)");
  app.add_option("--profile-steps", c.profile_steps,
                 "A:B: profiler capture (cudaProfilerStart/Stop) around global steps [A, B)");
  add_enum_option(app, "--goodness", c.goodness, "sum or mean of squares");
  app.add_option("--threshold", c.threshold,
                 "goodness threshold theta (default: layer width for sum, 2 for mean)");
  add_enum_option(app, "--loss", c.loss, "FF loss");
  add_enum_option(app, "--negatives", c.negatives,
                  "the negatives' labels: uniform over the wrong ones, or hard (drawn from the "
                  "classifier trained alongside; needs --track-linear and --task supervised)");
  app.add_option("--peer-norm", c.peer_norm,
                 "peer normalisation weight lambda of FF layers (0: off; 0.03 is common)")
      ->capture_default_str();
  app.add_option("--score-layers", c.score_layers,
                 "layers summed by slow classification: default (all but the first) | all | "
                 "lastN | 1,3,...")
      ->capture_default_str();
  app.add_option("--eval-every", c.eval_every,
                 "slow test evaluation every N epochs (0: at the end)")
      ->capture_default_str();
  app.add_option("--eval-batch", c.eval_batch, "images per evaluation chunk")
      ->capture_default_str();
  app.add_option("--fast-epochs", c.fast_epochs, "epochs of the fast linear classifier")
      ->capture_default_str();
  app.add_option("--fast-lr", c.fast_lr, "learning rate of the fast classifier")
      ->capture_default_str();
  app.add_flag("--probe", c.probe, "after pretraining, train a linear probe on the class labels");
  app.add_option("--probe-epochs", c.probe_epochs, "epochs of the linear probe")
      ->capture_default_str();
  app.add_option("--probe-lr", c.probe_lr, "learning rate of the linear probe")
      ->capture_default_str();
  app.add_option("--probe-layers", c.probe_layers,
                 "probe features: lastN | all | 1,3,... | each (one probe per layer, then all)")
      ->capture_default_str();
  app.add_flag("--track-linear", c.track_linear,
               "train a linear classifier alongside pretraining on the class labels and record "
               "its test accuracy every epoch");
  app.add_option("--track-lr", c.track_lr, "learning rate of the classifier trained alongside")
      ->capture_default_str();
  app.add_option("--save", c.save_path, "write a checkpoint (safetensors) at the end of training");
  app.add_option("--save-every", c.save_every, "also write it every N epochs");
  app.add_option("--save-interval", c.save_interval_s,
                 "with --save-every: skip a save when the last was less than S seconds ago");
  app.add_option("--resume", c.resume_path, "continue the run saved in this checkpoint");
  app.add_option("--train-limit", c.train_limit, "use only the first N training images (0: all)");
  app.add_option("--test-limit", c.test_limit, "use only the first N test images (0: all)");
  add_enum_option(app, "--device", c.device, "where to run");
  app.add_option("--out", c.out_dir, "output folder (default runs/<dataset>-<task>-<algo>-<time>)");
}

// CLI11 reports a parse error over two lines ("...", "Run with --help ..."); the project's form is
// one line on stderr. --help and --version are not errors: CLI11 prints them itself.
// The options of a command that reads a saved network (probe, embed); returns --out's option.
CLI::Option* add_saved_network_options(CLI::App& app, std::string& checkpoint,
                                       std::string& data_dir, std::string& device,
                                       std::string& out) {
  app.add_option("--checkpoint", checkpoint, "checkpoint written by --save")->required();
  app.add_option("--data-dir", data_dir, "dataset folder (default: as trained)");
  app.add_option("--device", device, "auto | cuda | cpu")->capture_default_str();
  return app.add_option("--out", out, "output folder");
}

// `ffcuda study`: the grid options, and every train option that a study passes on to its cells.
// Options a cell sets itself (its dataset, task, algorithm, folders, checkpoint) are removed.
// Returns the train options passed on.
std::vector<CLI::Option*> add_study_options(CLI::App& app, ff::StudyRequest& request,
                                            ff::TrainConfig& scratch,
                                            std::vector<std::string>& report_dirs,
                                            std::string& published, std::string& run_cell) {
  add_train_options(app, scratch);
  for (const char* flag : {"--dataset", "--task", "--algo", "--data-dir", "--save", "--save-every",
                           "--save-interval", "--resume", "--probe", "--profile-steps", "--out"}) {
    app.remove_option(app.get_option(flag));
  }
  std::vector<CLI::Option*> passed_on;
  for (CLI::Option* option : app.get_options()) {
    if (option->get_name(false, true).rfind("--", 0) != 0) continue;  // -h
    option->default_str("");  // the train defaults would mislead: the preset decides
    option->group("Options of every cell (default: the preset's)");
    passed_on.push_back(option);
  }
  app.add_option("--preset", request.preset, ff::study_preset_help())->capture_default_str();
  app.add_option("--datasets", request.datasets, "e.g. mnist,fashion-mnist (default: all four)")
      ->delimiter(',');
  app.add_option("--tasks", request.tasks,
                 "supervised, rotation, flip-h, flip-hv, jigsaw, unsupervised (default: all)")
      ->delimiter(',');
  app.add_option("--algos", request.algos,
                 "ff, bp-ce, bp-goodness-last, bp-goodness-all (default: the study's: ff and bp-ce "
                 "everywhere, the goodness variants on supervised and rotation)")
      ->delimiter(',');
  app.add_option("--seeds", request.seeds, "seeds per cell: --seed, --seed + 1, ...")
      ->capture_default_str();
  app.add_option("--sweep", request.sweep,
                 "OPTION=V1,V2,...: one cell per value (e.g. lr=1e-3,1e-4; separate layer lists "
                 "with ;)");
  app.add_option("--data-root", request.data_root, "dataset d is read from DIR/d")
      ->capture_default_str();
  app.add_flag(
      "--keep-checkpoints", request.keep_checkpoints,
      "keep each finished cell's checkpoint (default: removed once its result is written)");
  app.add_option("--save-interval", request.save_interval_s,
                 "a cell's checkpoint is written at the end of an epoch, at most every S seconds")
      ->capture_default_str();
  app.add_option("--out", request.out_dir,
                 "the study's folder (a rerun continues it); with --report: where the report of "
                 "several folders goes (default: the first)");
  const char* running = "Running on several machines or devices";
  app.add_option("--shard", request.shard,
                 "I/N: only shard I of N (the cells at grid positions I, I+N, I+2N, ...); the N "
                 "shards may share one --out folder or use one each (merge with --report)")
      ->group(running);
  app.add_option("--jobs", request.jobs,
                 "cells at a time, each in a child process with its share of the CPU threads")
      ->capture_default_str()
      ->group(running);
  app.add_option("--gpus", request.gpus,
                 "e.g. 0,1: one cell per GPU at a time, each in a child process that sees only "
                 "its GPU (CUDA_VISIBLE_DEVICES)")
      ->group(running);
  app.add_option("--report", report_dirs,
                 "only write the report of the study in this folder; several folders (the "
                 "shards of one study) give one merged report")
      ->expected(1, 1 << 20)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("DIR ...");
  app.add_option("--published", published, "the published figures (default: built in)");
  // How a study starts the process of one cell (--jobs, --gpus); not for use by hand.
  app.add_option("--run-cell", run_cell, "")->group("");
  return passed_on;
}

// The train options given to `ffcuda study`, as (config key, value as typed), in order.
std::vector<std::pair<std::string, std::string>> given_train_options(
    const std::vector<CLI::Option*>& passed_on) {
  std::vector<std::pair<std::string, std::string>> given;
  for (const CLI::Option* option : passed_on) {
    const std::string flag = option->get_name(false, true);
    if (option->count() == 0) continue;
    std::string key = flag.substr(flag.find_first_not_of('-'));
    std::replace(key.begin(), key.end(), '-', '_');
    given.emplace_back(key, option->as<std::string>());
  }
  return given;
}

bool is_subcommand(const CLI::App& app, const std::string& word) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == word) return true;
  }
  return false;
}

int report_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::cerr << "ffcuda: error: " << e.what() << " (see ffcuda --help)\n";
  return 1;
}

int print_devices() {
  std::string why;
  const auto devices = ff::list_cuda_devices(&why);
  std::printf("CUDA backend compiled in: %s\n", ff::cuda_compiled_in() ? "yes" : "no");
  if (ff::cuda_compiled_in()) {
    // Loads the plugin even without a GPU, so that a missing CUDA library shows here.
    const std::string error = ff::cuda_plugin_load_error();
    std::printf("CUDA plugin: %s (%s)\n", ff::cuda_plugin_path().c_str(),
                error.empty() ? "loads" : error.c_str());
  }
  if (devices.empty()) std::printf("no CUDA device: %s\n", why.c_str());
  for (const auto& d : devices) {
    std::printf("cuda:%d  %s  sm_%d%d  %d SMs  %.1f GiB (%.1f GiB free)\n", d.index, d.name.c_str(),
                d.major, d.minor, d.multiprocessors,
                static_cast<double>(d.total_memory) / 1073741824.0,
                static_cast<double>(d.free_memory) / 1073741824.0);
  }
  std::printf("cpu     %s\n", ff::make_cpu_backend()->name().c_str());
  return 0;
}

// The command; main() turns the exceptions that escape it into a message and an exit status.
int run_command(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG and is reported like a full
  // disk, with the previous checkpoint intact, instead of the process being killed mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"ffcuda: Forward-Forward training engine (CUDA + CPU reference)"};
  // A repeated option takes its last value, as argparse and most command lines do.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", ff::version_line());
  app.require_subcommand(1);
  ff::TrainConfig train_config;
  CLI::App* train = app.add_subcommand("train", "pretrain a network, then evaluate it");
  add_train_options(*train, train_config);
  CLI::App* devices = app.add_subcommand("devices", "list the devices ffcuda can use");
  ff::BenchConfig bench_config;
  CLI::App* bench = app.add_subcommand("bench", "time the training step and slow evaluation");
  add_train_options(*bench, bench_config.train);
  bench->add_option("--warmup", bench_config.warmup, "untimed steps first")->capture_default_str();
  bench->add_option("--iters", bench_config.iterations, "timed steps")->capture_default_str();
  bench->add_option("--eval-images", bench_config.eval_images, "images of the slow-eval timing")
      ->capture_default_str();
  bench->add_option("--json", bench_config.json_path, "write the results as JSON here");
  ff::ProbeRequest probe_request;
  CLI::App* probe = app.add_subcommand("probe", "linear-probe transfer of a saved network");
  add_saved_network_options(*probe, probe_request.checkpoint_path, probe_request.data_dir,
                            probe_request.device, probe_request.out_dir);
  probe->add_option("--probe-epochs", probe_request.probe_epochs, "epochs of the linear probe")
      ->capture_default_str();
  probe->add_option("--probe-lr", probe_request.probe_lr, "learning rate")->capture_default_str();
  probe->add_option("--probe-layers", probe_request.probe_layers, "lastN | all | 1,3,... | each")
      ->capture_default_str();
  ff::EmbedRequest embed_request;
  CLI::App* embed = app.add_subcommand("embed", "a saved network's layer activities as .npy files");
  add_saved_network_options(*embed, embed_request.checkpoint_path, embed_request.data_dir,
                            embed_request.device, embed_request.out_dir)
      ->required();
  embed
      ->add_option("--layers", embed_request.layers,
                   "lastN | all | 1,3,... | each (one file per layer)")
      ->capture_default_str();
  embed
      ->add_option("--label", embed_request.label,
                   "label in the input: neutral | true (transformed images, their task label) | "
                   "a label number")
      ->capture_default_str();
  embed->add_option("--split", embed_request.split, "test | train")->capture_default_str();
  embed->add_option("--limit", embed_request.limit, "only the first N images (0: all)")
      ->capture_default_str();

  ff::StudyRequest study_request;
  ff::TrainConfig study_scratch;  // where CLI11 checks the train options; the values are re-read
  std::vector<std::string> study_report_dirs;
  std::string study_published, study_run_cell;
  CLI::App* study = app.add_subcommand(
      "study",
      "the whole study (datasets x tasks x algorithms) as one resumable run, and its report");
  const std::vector<CLI::Option*> study_train_options = add_study_options(
      *study, study_request, study_scratch, study_report_dirs, study_published, study_run_cell);

  // CLI11 would take an unknown first word for a stray argument ("A subcommand is required").
  if (argc > 1 && argv[1][0] != '-' && !is_subcommand(app, argv[1])) {
    std::cerr << "ffcuda: error: unknown subcommand '" << argv[1]
              << "': use train, study, bench, probe, embed or devices (see ffcuda --help)\n";
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e);
  }
  if (*devices) return print_devices();
  if (*train) ff::run_training(train_config);
  if (*probe) ff::run_probe(probe_request);
  if (*embed) ff::run_embed(embed_request);
  if (*bench) ff::run_bench(bench_config);
  if (*study) {
    if (!study_run_cell.empty()) return ff::run_study_cell(study_run_cell);
    if (!study_report_dirs.empty()) {
      ff::write_study_report(study_report_dirs, study_request.out_dir, study_published);
      return 0;
    }
    study_request.overrides = given_train_options(study_train_options);
    const int failed = ff::run_study(study_request);
    if (failed > 0) {
      std::cerr << "ffcuda: error: " << failed << " study cell" << (failed == 1 ? "" : "s")
                << " failed (their errors are in report.md); rerun the same command to retry "
                   "them\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything that escapes the command, from setting up its options to the work itself (an
  // unknown enum name from add_enum_option included), ends here: ff/error.hpp says which
  // exceptions are the user's (status 1) and which are internal errors (status 2).
  try {
    return run_command(argc, argv);
  } catch (const std::exception& e) {
    const ff::ErrorReport report = ff::error_report(e);
    std::cerr << report.line << "\n";
    return report.exit_status;
  }
}
