// `ffcuda embed`: the normalised activities of a saved network's layers for every image of a
// split, as NumPy files, for t-SNE pictures and outside analysis (tools/tsne.py).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace ff {

struct EmbedRequest {
  std::string checkpoint_path, data_dir, device = "auto", out_dir;
  std::string layers = "last3";   // lastN | all | 1,3,... | each (one file per layer)
  std::string label = "neutral";  // neutral | true | a label number
  std::string split = "test";     // test | train
  int64_t limit = 0;              // only the first N images of the split (0: all)
};

// Writes to out_dir: features_<layers>.npy (float32 [N, D], one per layer set; with "each"
// features_layer<l>.npy per layer), labels.npy (the class, int64 [N]), pretext_labels.npy (the
// drawn transform, int64 [N], with --label true on a pretext task) and meta.json. Returns
// meta.json.
nlohmann::json run_embed(const EmbedRequest& request);

}  // namespace ff
