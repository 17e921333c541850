// A safetensors checkpoint: loaded, and the config in its metadata read, or refused with an
// ff::Error; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "ff/error.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ff::fuzz::write_scratch("checkpoint.safetensors", data, size);
  try {
    const ff::Checkpoint checkpoint = ff::load_checkpoint(path);
    const auto config = checkpoint.metadata.find("config");
    if (config != checkpoint.metadata.end()) {
      const nlohmann::json json = nlohmann::json::parse(config->second, nullptr, false);
      if (!json.is_discarded()) ff::validate_config(ff::config_from_json(json));
    }
  } catch (const ff::Error&) {
  }
  return 0;
}
