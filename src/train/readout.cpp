#include "ff/readout.hpp"

#include <chrono>
#include <cstdio>

#include "ff/fault.hpp"
#include "ff/nvtx.hpp"
#include "ff/run_log.hpp"

namespace ff {

namespace {

LabelledFeatures labelled(const Array<float>& features, const ResidentSplit& split,
                          const ImageSet& host) {
  LabelledFeatures out;
  out.features = features.data();
  out.labels = split.labels_i32.data();
  out.host_labels.assign(host.labels.begin(), host.labels.end());
  out.count = split.count;
  return out;
}

}  // namespace

LinearClassifierResult linear_readout(Backend& backend, Trainer& trainer, const Dataset& dataset,
                                      const ReadoutConfig& config) {
  NvtxRange range(config.what.c_str());
  const auto start = std::chrono::steady_clock::now();
  std::string layer_names;
  LinearClassifierConfig classifier;
  for (int l : config.layers) {
    classifier.width += trainer.model().network().out_width(l);
    if (!layer_names.empty()) layer_names += ',';
    layer_names += std::to_string(l + 1);
  }
  std::printf("%s: features of layers %s (%d values per image), computed once...\n",
              config.what.c_str(), layer_names.c_str(), classifier.width);
  std::fflush(stdout);
  Evaluator& evaluator = trainer.evaluator();
  const Array<float> train_features =
      evaluator.extract_features(trainer.train_split(), config.layers);
  const Array<float> test_features =
      evaluator.extract_features(trainer.test_split(), config.layers);
  classifier.classes = dataset.num_classes;
  classifier.epochs = config.epochs;
  classifier.batch = config.batch;
  classifier.lr = config.lr;
  classifier.seed = config.seed;
  // One progress line every ~10% of the epochs: a 100-epoch probe is long on a CPU.
  const int report_every = config.epochs >= 10 ? config.epochs / 10 : 1;
  auto on_epoch = [&](int epoch, double loss) {
    fault_point("probe");
    if ((epoch + 1) % report_every != 0 && epoch + 1 != config.epochs) return;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: epoch %d/%d  loss %.4f  (%s)\n", config.what.c_str(), epoch + 1, config.epochs,
                loss, format_duration(elapsed).c_str());
    std::fflush(stdout);
  };
  return train_linear_classifier(
      backend, classifier, labelled(train_features, trainer.train_split(), dataset.train),
      labelled(test_features, trainer.test_split(), dataset.test), on_epoch);
}

}  // namespace ff
