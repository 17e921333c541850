// What a user types or a file holds about a run: the config JSON (as in result.json and
// checkpoints) and the text options with their own syntax. The first byte picks the parser; each
// must accept the text or refuse it with an ff::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ff/config.hpp"
#include "ff/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 7) {
      case 0: {
        const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
        if (!json.is_discarded()) ff::validate_config(ff::config_from_json(json));
        break;
      }
      case 1: ff::parse_layers(text, 784); break;
      case 2: ff::parse_classes(text, 10); break;
      case 3: ff::parse_score_layers(text, 4); break;
      case 4: ff::parse_profile_steps(text); break;
      case 5: ff::parse_enum<ff::Task>(text); break;
      default: {
        ff::TrainConfig config;
        config.layers_spec = text;
        config.score_layers = text;
        ff::validate_config(config);
      }
    }
  } catch (const ff::Error&) {
  }
  return 0;
}
