// Minibatch Adam on softmax cross-entropy over cached features; every op is the backend's.
#include "ff/linear_classifier.hpp"

#include <algorithm>

#include "ff/error.hpp"
#include "ff/network.hpp"
#include "ff/step_runner.hpp"

namespace ff {

LinearClassifierResult train_linear_classifier(Backend& backend, const LinearClassifierConfig& c,
                                               const LabelledFeatures& train,
                                               const LabelledFeatures& test,
                                               const std::function<void(int, double)>& on_epoch) {
  require(train.count > 0 && test.count > 0, "the linear classifier needs training and test data");
  const size_t weight_count = static_cast<size_t>(c.width) * c.classes;
  // Zero initialisation: the problem is convex, and zeros make it independent of any draw.
  Array<float> params(backend, std::vector<float>(weight_count + c.classes, 0.0f));
  Array<float> grads(backend, params.size());
  Optimizer optimizer(backend, params.size(), OptimizerKind::kAdam, c.lr, 0.0f);
  float* weight = params.data();
  float* bias = params.data() + weight_count;

  const int batch = static_cast<int>(std::min<size_t>(c.batch, std::max(train.count, test.count)));
  Array<int32_t> order(backend, train.count), shuffled_labels(backend, train.count);
  Array<float> x(backend, static_cast<size_t>(batch) * c.width);
  Array<float> logits(backend, static_cast<size_t>(batch) * c.classes);
  Array<float> dlogits(backend, logits.size()), row_loss(backend, batch), loss_sum(backend, 1);
  Array<int32_t> predictions(backend, batch);
  Array<int64_t> correct(backend, 1);

  LinearClassifierResult result;
  for (int epoch = 0; epoch < c.epochs; ++epoch) {
    const std::vector<int32_t> host_order = shuffled_order(train.count, c.seed, epoch);
    std::vector<int32_t> host_labels(train.count);
    for (size_t i = 0; i < train.count; ++i) host_labels[i] = train.host_labels[host_order[i]];
    order.upload(host_order);
    shuffled_labels.upload(host_labels);
    backend.fill(loss_sum.data(), 1, 0.0f);
    for (size_t start = 0; start < train.count; start += batch) {
      const int rows = static_cast<int>(std::min<size_t>(batch, train.count - start));
      backend.gather_rows(train.features, c.width, order.data() + start, rows, c.width, x.data());
      backend.gemm(linear_forward_desc(rows, c.width, c.classes), weight, x.data(), logits.data(),
                   Epilogue::kBias, bias);
      backend.softmax_xent(logits.data(), shuffled_labels.data() + start, rows, c.classes,
                           1.0f / static_cast<float>(rows), dlogits.data(), row_loss.data());
      backend.gemm(weight_grad_desc(rows, c.width, c.classes), x.data(), dlogits.data(),
                   grads.data());
      backend.column_sum(dlogits.data(), rows, c.classes, grads.data() + weight_count, 0.0f);
      backend.sum_into(row_loss.data(), rows, loss_sum.data());
      optimizer.step(params, grads);
    }
    const double loss = loss_sum.download()[0] / static_cast<double>(train.count);
    result.epoch_loss.push_back(loss);
    if (on_epoch) on_epoch(epoch, loss);
  }

  correct.upload({0});
  for (size_t start = 0; start < test.count; start += batch) {
    const int rows = static_cast<int>(std::min<size_t>(batch, test.count - start));
    backend.gemm(linear_forward_desc(rows, c.width, c.classes), weight,
                 test.features + start * c.width, logits.data(), Epilogue::kBias, bias);
    backend.argmax(logits.data(), rows, c.classes, c.classes, 1, predictions.data());
    backend.count_equal(predictions.data(), test.labels + start, rows, correct.data());
  }
  result.test_accuracy =
      static_cast<double>(correct.download()[0]) / static_cast<double>(test.count);
  return result;
}

}  // namespace ff
