// Inputs the fuzzers found (tools/fuzz.sh), kept in tests/fuzz_regressions/ as <target>-<hash>:
// each is replayed the way its fuzz target reads it (fuzz/fuzz_<target>.cpp) and must now be
// refused with an ff::Error, without a crash or a sanitizer report (the sanitized test pass runs
// this too).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "command_util.hpp"
#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

TEST(FuzzRegressions, EachFoundInputIsRefusedWithAnError) {
  const fs::path dir = fs::path(ff::testing_util::source_dir()) / "tests" / "fuzz_regressions";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    if (name.rfind("svhn-", 0) == 0) {
      EXPECT_THROW(ff::read_svhn_mat(entry.path().string()), ff::Error);
    } else if (name.rfind("checkpoint-", 0) == 0) {
      EXPECT_THROW(ff::load_checkpoint(entry.path().string()), ff::Error);
    } else if (name.rfind("config-", 0) == 0) {
      // fuzz_config: the first byte picks the parser (0: the config JSON).
      const std::string bytes = ff::testing_util::read_whole_file(entry.path());
      ASSERT_FALSE(bytes.empty());
      ASSERT_EQ(bytes[0] % 7, 0) << "only JSON inputs are kept so far";
      const nlohmann::json json = nlohmann::json::parse(bytes.substr(1));
      EXPECT_THROW(ff::config_from_json(json), ff::Error);
    } else {
      ADD_FAILURE() << "no replay for " << name << ": add one for its target";
      continue;
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(FuzzRegressions, ConfigNumbersOutOfTheirTypesRangeAreRefused) {
  const nlohmann::json good = ff::config_to_json(ff::TrainConfig{});
  for (const auto& [key, value] : {std::pair<const char*, nlohmann::json>{"epochs", 1.5e65},
                                   {"epochs", 2.5},
                                   {"batch", 1LL << 40},
                                   {"seed", -1},
                                   {"lr", 1e300},
                                   {"train_limit", "many"}}) {
    nlohmann::json bad = good;
    bad[key] = value;
    EXPECT_THROW(ff::config_from_json(bad), ff::Error) << key << " = " << value.dump();
  }
  EXPECT_NO_THROW(ff::config_from_json(good));
}

}  // namespace
