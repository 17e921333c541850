// Benchmark of the training step: the backend's time marks (CUDA events; the host clock on the
// CPU) around each step after warm-up; median and spread over N single steps, the throughput of N
// steps back to back, the per-phase split (each phase synchronised, so the split is of a slightly
// perturbed step), the step's GEMMs alone (roofline ratio), and the slow evaluation with its
// GEMMs alone.
#include "ff/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "ff/backend.hpp"
#include "ff/error.hpp"
#include "ff/philox.hpp"
#include "ff/run_log.hpp"
#include "ff/trainer.hpp"
#include "train/phase.hpp"

namespace ff {

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double median, min, max, mean;
};

Stats stats_of(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double s : samples) sum += s;
  return {samples[samples.size() / 2], samples.front(), samples.back(), sum / samples.size()};
}

// Seconds of each of `n` calls of `work`, from the backend's time marks around it (CUDA events on
// the main stream: the GPU's time, not the host's), each call starting on an idle backend.
std::vector<double> time_each(Backend& backend, int n, const std::function<void(int)>& work) {
  std::vector<double> seconds;
  for (int i = 0; i < n; ++i) {
    backend.synchronize();
    const std::unique_ptr<TimeMark> start = backend.mark_time();
    work(i);
    const std::unique_ptr<TimeMark> end = backend.mark_time();
    seconds.push_back(backend.seconds_between(*start, *end));
  }
  return seconds;
}

// Random images of the dataset's shape: the step's cost does not depend on the pixels, but zeros
// could take faster paths (and hide unwritten outputs), so the pixels are random.
Dataset synthetic_dataset(const std::string& name, size_t train, size_t test) {
  Dataset d;
  d.name = name;
  const bool colour = name == "cifar10" || name == "svhn";
  d.channels = colour ? 3 : 1;
  d.height = d.width = colour ? 32 : 28;
  for (ImageSet* set : {&d.train, &d.test}) {
    set->count = set == &d.train ? train : test;
    set->images.resize(set->count * d.pixels());
    set->labels.resize(set->count);
    for (size_t i = 0; i < set->images.size(); ++i) {
      set->images[i] = static_cast<uint8_t>(random_words(7, 0, static_cast<uint32_t>(i / 4),
                                                         RandomPurpose::kInit).v[i % 4]);
    }
    for (size_t i = 0; i < set->count; ++i) set->labels[i] = static_cast<uint8_t>(i % 10);
  }
  return d;
}

nlohmann::json stats_json(const Stats& s) {
  return {{"median_ms", s.median * 1e3}, {"min_ms", s.min * 1e3}, {"max_ms", s.max * 1e3},
          {"mean_ms", s.mean * 1e3}};
}

// The slow evaluation's GEMMs (evaluate_slow: per chunk of --eval-batch images, layer 1 over the
// images when layer-1 reuse is on, else over all C candidate rows, later layers over the C rows),
// on scratch operands of the same shapes: the roofline reference of the evaluation.
struct EvalGemms {
  Array<float> x, y;  // scratch operands, [C * chunk x widest layer]
  std::vector<FfTrainer::StepGemm> gemms;
  double flops = 0;
};

EvalGemms slow_eval_gemms(Backend& backend, FfTrainer& trainer, const TrainConfig& config,
                          size_t images) {
  Mlp& net = trainer.network();
  const int labels = trainer.num_labels();
  const size_t chunk = std::min<size_t>(static_cast<size_t>(config.eval_batch), images);
  int widest = 0;
  for (int l = 0; l < net.num_layers(); ++l) widest = std::max({widest, net.in_width(l), net.out_width(l)});
  EvalGemms e;
  const size_t scratch = static_cast<size_t>(labels) * chunk * widest;
  e.x = Array<float>(backend, std::vector<float>(scratch, 0.5f));
  e.y = Array<float>(backend, scratch);
  for (size_t start = 0; start < images; start += chunk) {
    const int batch = static_cast<int>(std::min(chunk, images - start));
    for (int l = 0; l < net.num_layers(); ++l) {
      const int rows = l == 0 && config.reuse_layer1 ? batch : labels * batch;
      const GemmDesc desc = linear_forward_desc(rows, net.in_width(l), net.out_width(l));
      e.gemms.push_back({desc, net.weight(l), e.x.data(), e.y.data(), Epilogue::kBiasRelu,
                         net.bias(l)});
      e.flops += gemm_flops(desc);
    }
  }
  return e;
}

}  // namespace

nlohmann::json run_bench(const BenchConfig& bench) {
  require(bench.iterations > 0 && bench.warmup >= 0, "--iters must be > 0 and --warmup >= 0");
  TrainConfig config = bench.train;
  const size_t steps = static_cast<size_t>(bench.warmup + bench.iterations);
  const Dataset data = synthetic_dataset(config.dataset, steps * config.batch,
                                         static_cast<size_t>(bench.eval_images));
  std::unique_ptr<Backend> backend = make_backend(config.device);
  backend->set_gemm_precision(parse_precision(config.precision));
  FfTrainer trainer(*backend, config, data);
  // With graphs, step 1 runs as issued and step 2 is captured: both belong to the warm-up.
  require(!parse_graphs(config.graphs, backend->kind() == DeviceKind::kCuda) || bench.warmup >= 2,
          "--warmup must be at least 2 when steps are captured as CUDA graphs (step 1 runs as "
          "issued, step 2 is captured); raise --warmup or use --graphs off");
  std::printf("bench: %s, %s %s, batch %d, %s images, precision %s, pass mode %s, overlap %s, "
              "graphs %s, device %s\n",
              config.algo.c_str(), config.layers_spec.c_str(), task_name(config.task).c_str(),
              config.batch, config.dataset.c_str(), config.precision.c_str(),
              config.pass_mode.c_str(), config.overlap ? "on" : "off", config.graphs.c_str(),
              backend->name().c_str());

  trainer.begin_epoch(0);
  for (int i = 0; i < bench.warmup; ++i) trainer.train_step(0, i);
  trainer.seek(0, bench.warmup);
  const Stats step = stats_of(time_each(*backend, bench.iterations, [&](int i) {
    trainer.train_step(0, bench.warmup + i);
  }));
  // Back to back, one synchronisation: the throughput a training run sees (host wall clock, so
  // launch overhead the GPU hides is included when it is not hidden).
  trainer.seek(0, bench.warmup);
  backend->synchronize();
  const auto start = Clock::now();
  for (int i = 0; i < bench.iterations; ++i) trainer.train_step(0, bench.warmup + i);
  backend->synchronize();
  const double back_to_back =
      std::chrono::duration<double>(Clock::now() - start).count() / bench.iterations;

  // Phase timing synchronises inside the step, so these steps run uncaptured (no graph replay).
  PhaseTimes phases;
  trainer.seek(0, bench.warmup);
  trainer.set_phase_times(&phases);
  for (int i = 0; i < bench.iterations; ++i) trainer.train_step(0, bench.warmup + i);
  trainer.set_phase_times(nullptr);

  const std::vector<FfTrainer::StepGemm> gemms = trainer.step_gemms();
  double flops = 0;
  for (const auto& g : gemms) flops += gemm_flops(g.desc);
  const Stats gemm_only = stats_of(time_each(*backend, bench.iterations, [&](int) {
    for (const auto& g : gemms) backend->gemm(g.desc, g.a, g.b, g.c, g.epilogue, g.bias);
  }));

  nlohmann::json result{
      {"device", backend->name()},
      {"config", config_to_json(config)},
      {"warmup", bench.warmup},
      {"iterations", bench.iterations},
      {"step", stats_json(step)},
      {"step_back_to_back_ms", back_to_back * 1e3},
      {"samples_per_s", config.batch / back_to_back},
      {"step_gemm_flops", flops},
      {"tflops", flops / back_to_back * 1e-12},
      {"gemms_alone", stats_json(gemm_only)},
      {"gemm_tflops", flops / gemm_only.median * 1e-12},
      {"step_over_gemms", step.median / gemm_only.median},
      // Whether the timed steps replayed a captured graph (--graphs resolved for this backend,
      // and at least two warm-up steps: the first runs as issued, the second is captured).
      {"graph_replayed", trainer.step_is_captured()},
  };
  double phase_total = 0;
  for (const auto& [name, seconds] : phases.seconds) phase_total += seconds;
  for (const auto& [name, seconds] : phases.seconds) {
    result["phases"][name] = {{"ms_per_step", seconds / bench.iterations * 1e3},
                              {"fraction", seconds / phase_total}};
  }

  if (trainer.num_labels() >= 2 && !trainer.has_head() && bench.eval_images > 0) {
    trainer.evaluate_slow(trainer.test_split(), config.test_seed);  // warm-up
    const Stats eval = stats_of(time_each(*backend, 3, [&](int) {
      trainer.evaluate_slow(trainer.test_split(), config.test_seed);
    }));
    result["slow_eval"] = stats_json(eval);
    result["slow_eval"]["images"] = bench.eval_images;
    result["slow_eval"]["images_per_s"] = bench.eval_images / eval.median;
    const EvalGemms eval_gemms =
        slow_eval_gemms(*backend, trainer, config, static_cast<size_t>(bench.eval_images));
    const Stats eval_gemm_only = stats_of(time_each(*backend, 3, [&](int) {
      for (const auto& g : eval_gemms.gemms) backend->gemm(g.desc, g.a, g.b, g.c, g.epilogue, g.bias);
    }));
    result["slow_eval"]["gemm_flops"] = eval_gemms.flops;
    result["slow_eval"]["tflops"] = eval_gemms.flops / eval.median * 1e-12;
    result["slow_eval"]["gemms_alone"] = stats_json(eval_gemm_only);
    result["slow_eval"]["eval_over_gemms"] = eval.median / eval_gemm_only.median;
  }

  std::printf("step        median %.3f ms (min %.3f, max %.3f); back to back %.3f ms\n",
              step.median * 1e3, step.min * 1e3, step.max * 1e3, back_to_back * 1e3);
  std::printf("throughput  %.0f samples/s, %.3f TFLOP/s (%.2f GFLOP per step)\n",
              config.batch / back_to_back, flops / back_to_back * 1e-12, flops * 1e-9);
  std::printf("graphs      %s\n", trainer.step_is_captured()
                                      ? "the timed steps replayed a captured CUDA graph"
                                      : "steps issued op by op (no capture)");
  std::printf("GEMMs alone median %.3f ms (%.3f TFLOP/s); step / GEMMs = %.2f\n",
              gemm_only.median * 1e3, flops / gemm_only.median * 1e-12,
              step.median / gemm_only.median);
  for (const auto& [name, seconds] : phases.seconds) {
    std::printf("  %-12s %8.3f ms/step  %5.1f%%\n", name.c_str(), seconds / bench.iterations * 1e3,
                100 * seconds / phase_total);
  }
  if (result.contains("slow_eval")) {
    const nlohmann::json& e = result["slow_eval"];
    std::printf("slow eval   %.0f images/s over %d labels, %.3f TFLOP/s; its GEMMs alone %.3f ms, "
                "eval / GEMMs = %.2f\n",
                e["images_per_s"].get<double>(), trainer.num_labels(), e["tflops"].get<double>(),
                e["gemms_alone"]["median_ms"].get<double>(), e["eval_over_gemms"].get<double>());
  }
  if (!bench.json_path.empty()) write_file_atomically(bench.json_path, result.dump(2) + "\n");
  return result;
}

}  // namespace ff
