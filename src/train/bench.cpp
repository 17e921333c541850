// Benchmark of the training step: the backend's time marks (CUDA events; the host clock on the
// CPU) around each step after warm-up; median and spread over N single steps, the throughput of N
// steps back to back, the per-phase split (each phase synchronised, so the split is of a slightly
// perturbed step), the step's GEMMs alone (roofline ratio), and the slow evaluation with its
// GEMMs alone. The GEMMs timed alone are recorded from the real step and evaluation
// (train/gemm_recorder.hpp), so the ratio cannot drift from what runs.
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
#include "ff/version.hpp"
#include "gemm_recorder.hpp"
#include "phase.hpp"

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
  return {samples[samples.size() / 2], samples.front(), samples.back(),
          sum / static_cast<double>(samples.size())};
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
      set->images[i] = static_cast<uint8_t>(
          random_words(7, 0, static_cast<uint32_t>(i / 4), RandomPurpose::kInit).v[i % 4]);
    }
    for (size_t i = 0; i < set->count; ++i) set->labels[i] = static_cast<uint8_t>(i % 10);
  }
  return d;
}

nlohmann::json stats_json(const Stats& s) {
  return {{"median_ms", s.median * 1e3},
          {"min_ms", s.min * 1e3},
          {"max_ms", s.max * 1e3},
          {"mean_ms", s.mean * 1e3}};
}

// Recorded GEMMs ready to run again: each operand is the recorded one where its memory is still
// allocated (the step's: weights, activations, gradients), else scratch of the same extent filled
// with 0.5 (the evaluation's chunk buffers, freed when it returned). The cost of a GEMM does not
// depend on its values.
class GemmReplay {
 public:
  GemmReplay(GemmRecorder& recorder, const std::vector<RecordedGemm>& gemms) : gemms_(gemms) {
    // Which operands are still allocated is decided before the scratch exists: the scratch may
    // reuse the address of a freed operand, which must still count as freed.
    struct Live {
      bool a, b, c, bias;
    };
    std::vector<Live> live;
    size_t inputs = 0, outputs = 0;
    for (const RecordedGemm& g : gemms_) {
      live.push_back({recorder.is_live(g.a, gemm_a_span(g.desc) * sizeof(float)),
                      recorder.is_live(g.b, gemm_b_span(g.desc) * sizeof(float)),
                      recorder.is_live(g.c, gemm_c_span(g.desc) * sizeof(float)),
                      g.bias == nullptr || recorder.is_live(g.bias, g.desc.m * sizeof(float))});
      inputs = std::max(
          {inputs, gemm_a_span(g.desc), gemm_b_span(g.desc), static_cast<size_t>(g.desc.m)});
      outputs = std::max(outputs, gemm_c_span(g.desc));
    }
    inputs_ = Array<float>(recorder, std::vector<float>(inputs, 0.5f));
    outputs_ = Array<float>(recorder, std::vector<float>(outputs, 0.5f));
    for (size_t i = 0; i < gemms_.size(); ++i) {
      RecordedGemm& g = gemms_[i];
      if (!live[i].a) g.a = inputs_.data();
      if (!live[i].b) g.b = inputs_.data();
      if (!live[i].c) g.c = outputs_.data();
      if (!live[i].bias) g.bias = inputs_.data();
    }
  }
  void run(Backend& backend) const {
    for (const RecordedGemm& g : gemms_) backend.gemm(g.desc, g.a, g.b, g.c, g.epilogue, g.bias);
  }

 private:
  std::vector<RecordedGemm> gemms_;
  Array<float> inputs_, outputs_;
};

double total_flops(const std::vector<RecordedGemm>& gemms) {
  double flops = 0;
  for (const RecordedGemm& g : gemms) flops += gemm_flops(g.desc);
  return flops;
}

// The shapes of `gemms`, in order: what the step issued, for whoever reads the record.
nlohmann::json gemm_list_json(const std::vector<RecordedGemm>& gemms) {
  nlohmann::json list = nlohmann::json::array();
  for (const RecordedGemm& g : gemms) {
    list.push_back({{"m", g.desc.m},
                    {"n", g.desc.n},
                    {"k", g.desc.k},
                    {"trans_a", g.desc.trans_a == Trans::kT},
                    {"trans_b", g.desc.trans_b == Trans::kT},
                    {"epilogue", static_cast<int>(g.epilogue)}});
  }
  return list;
}

}  // namespace

nlohmann::json run_bench(const BenchConfig& bench) {
  require(bench.iterations > 0 && bench.warmup >= 0, "--iters must be > 0 and --warmup >= 0");
  require(bench.eval_images >= 0, "--eval-images must be >= 0 (0: no evaluation timing)");
  TrainConfig config = bench.train;
  validate_config(config);
  const size_t steps = static_cast<size_t>(bench.warmup) + static_cast<size_t>(bench.iterations);
  const Dataset data = synthetic_dataset(config.dataset, steps * config.batch,
                                         static_cast<size_t>(bench.eval_images));
  std::unique_ptr<Backend> device = make_backend(enum_name(config.device));
  device->set_gemm_precision(config.precision);
  // Every op goes through the recorder, so the GEMMs timed alone are those the step issued.
  GemmRecorder recorder(*device);
  Backend* backend = &recorder;
  Trainer trainer(recorder, config, data);
  StepRunner& runner = trainer.steps();
  // With graphs, step 1 runs as issued and step 2 is captured: both belong to the warm-up.
  require(!resolve_graphs(config.graphs, backend->kind() == DeviceKind::kCuda) || bench.warmup >= 2,
          "--warmup must be at least 2 when steps are captured as CUDA graphs (step 1 runs as "
          "issued, step 2 is captured); raise --warmup or use --graphs off");
  std::printf(
      "bench: %s, %s %s, batch %d, %s images, precision %s, pass mode %s, overlap %s, "
      "graphs %s, device %s\n",
      enum_name(config.algo).c_str(), config.layers_spec.c_str(), task_name(config.task).c_str(),
      config.batch, config.dataset.c_str(), enum_name(config.precision).c_str(),
      enum_name(config.pass_mode).c_str(), config.overlap ? "on" : "off",
      enum_name(config.graphs).c_str(), backend->name().c_str());

  runner.begin_epoch(0);
  for (int i = 0; i < bench.warmup; ++i) runner.train_step(0, i);
  runner.seek(0, bench.warmup);
  const Stats step = stats_of(time_each(*backend, bench.iterations,
                                        [&](int i) { runner.train_step(0, bench.warmup + i); }));
  // Back to back, one synchronisation: the throughput a training run sees (host wall clock, so
  // launch overhead the GPU hides is included when it is not hidden).
  runner.seek(0, bench.warmup);
  backend->synchronize();
  const auto start = Clock::now();
  for (int i = 0; i < bench.iterations; ++i) runner.train_step(0, bench.warmup + i);
  backend->synchronize();
  const double back_to_back =
      std::chrono::duration<double>(Clock::now() - start).count() / bench.iterations;

  // Phase timing synchronises inside the step, so these steps run uncaptured (no graph replay);
  // the first of them is recorded: its GEMMs are the step's.
  PhaseTimes phases;
  runner.seek(0, bench.warmup);
  runner.set_phase_times(&phases);
  std::vector<RecordedGemm> step_gemms;
  for (int i = 0; i < bench.iterations; ++i) {
    if (i == 0) recorder.start_recording();
    runner.train_step(0, bench.warmup + i);
    if (i == 0) step_gemms = recorder.stop_recording();
  }
  runner.set_phase_times(nullptr);

  const double flops = total_flops(step_gemms);
  const GemmReplay step_replay(recorder, step_gemms);
  const Stats gemm_only =
      stats_of(time_each(*backend, bench.iterations, [&](int) { step_replay.run(*backend); }));

  nlohmann::json result{
      {"device", backend->name()},
      {"config", config_to_json(config)},
      {"warmup", bench.warmup},
      {"iterations", bench.iterations},
      {"step", stats_json(step)},
      {"step_back_to_back_ms", back_to_back * 1e3},
      {"samples_per_s", config.batch / back_to_back},
      {"schema", kSchemaVersion},
      {"ffcuda", version_line()},
      {"step_gemm_flops", flops},
      {"step_gemms", gemm_list_json(step_gemms)},
      {"tflops", flops / back_to_back * 1e-12},
      {"gemms_alone", stats_json(gemm_only)},
      {"gemm_tflops", flops / gemm_only.median * 1e-12},
      {"step_over_gemms", step.median / gemm_only.median},
      // Whether the timed steps replayed a captured graph (--graphs resolved for this backend,
      // and at least two warm-up steps: the first runs as issued, the second is captured).
      {"graph_replayed", runner.step_is_captured()},
  };
  double phase_total = 0;
  for (const auto& [name, seconds] : phases.seconds) phase_total += seconds;
  for (const auto& [name, seconds] : phases.seconds) {
    result["phases"][name] = {{"ms_per_step", seconds / bench.iterations * 1e3},
                              {"fraction", seconds / phase_total}};
  }

  Evaluator& evaluator = trainer.evaluator();
  if (evaluator.classifies_slowly() && bench.eval_images > 0) {
    recorder.start_recording();
    evaluator.evaluate_slow(trainer.test_split(), config.test_seed);  // warm-up, recorded
    const std::vector<RecordedGemm> eval_gemms = recorder.stop_recording();
    const Stats eval = stats_of(time_each(*backend, 3, [&](int) {
      evaluator.evaluate_slow(trainer.test_split(), config.test_seed);
    }));
    result["slow_eval"] = stats_json(eval);
    result["slow_eval"]["images"] = bench.eval_images;
    result["slow_eval"]["images_per_s"] = bench.eval_images / eval.median;
    const double eval_flops = total_flops(eval_gemms);
    const GemmReplay eval_replay(recorder, eval_gemms);
    const Stats eval_gemm_only =
        stats_of(time_each(*backend, 3, [&](int) { eval_replay.run(*backend); }));
    result["slow_eval"]["gemm_flops"] = eval_flops;
    result["slow_eval"]["tflops"] = eval_flops / eval.median * 1e-12;
    result["slow_eval"]["gemms_alone"] = stats_json(eval_gemm_only);
    result["slow_eval"]["eval_over_gemms"] = eval.median / eval_gemm_only.median;
  }

  std::printf("step        median %.3f ms (min %.3f, max %.3f); back to back %.3f ms\n",
              step.median * 1e3, step.min * 1e3, step.max * 1e3, back_to_back * 1e3);
  std::printf("throughput  %.0f samples/s, %.3f TFLOP/s (%.2f GFLOP per step)\n",
              config.batch / back_to_back, flops / back_to_back * 1e-12, flops * 1e-9);
  std::printf("graphs      %s\n", runner.step_is_captured()
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
    std::printf(
        "slow eval   %.0f images/s over %d labels, %.3f TFLOP/s; its GEMMs alone %.3f ms, "
        "eval / GEMMs = %.2f\n",
        e["images_per_s"].get<double>(), trainer.num_labels(), e["tflops"].get<double>(),
        e["gemms_alone"]["median_ms"].get<double>(), e["eval_over_gemms"].get<double>());
  }
  if (!bench.json_path.empty()) write_file_atomically(bench.json_path, result.dump(2) + "\n");
  return result;
}

}  // namespace ff
