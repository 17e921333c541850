#include "ff/resident_split.hpp"

#include <vector>

namespace ff {

ResidentSplit::ResidentSplit(Backend& backend, const ImageSet& set)
    : images(backend, set.images), labels(backend, set.labels), count(set.count) {
  labels_i32 = Array<int32_t>(backend, std::vector<int32_t>(set.labels.begin(), set.labels.end()));
}

BatchSpec base_batch_spec(const ResidentSplit& split, const TaskShape& shape) {
  BatchSpec spec;
  spec.images = split.images.data();
  spec.class_labels = split.labels.data();
  spec.dataset_count = static_cast<uint32_t>(split.count);
  spec.channels = shape.channels;
  spec.height = shape.height;
  spec.width = shape.width;
  spec.task = shape.task;
  spec.num_labels = shape.num_labels;
  return spec;
}

}  // namespace ff
