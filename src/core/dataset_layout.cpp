// The shapes of the datasets the engine knows, with no images: part of core because a
// configuration is checked against them (src/core/config.cpp) before any file is read. Reading the
// images is the data layer's business (src/data).
#include <string>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace ff {

Dataset dataset_layout(const std::string& name) {
  Dataset ds;
  ds.name = name;
  ds.num_classes = 10;
  if (name == "mnist" || name == "fashion-mnist") {
    ds.channels = 1;
    ds.height = ds.width = 28;
  } else if (name == "cifar10" || name == "svhn") {
    ds.channels = 3;
    ds.height = ds.width = 32;
  } else {
    throw Error("unknown dataset '" + name + "'; valid names: mnist, fashion-mnist, cifar10, svhn");
  }
  return ds;
}

}  // namespace ff
