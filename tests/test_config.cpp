// TrainConfig parsing and its JSON form (result.json, checkpoint metadata).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ff/config.hpp"
#include "ff/error.hpp"

namespace ff {
namespace {

TEST(ConfigJson, FloatsAreWrittenInShortestFormAndReadBackExactly) {
  TrainConfig config;
  config.lr = 3e-4f;
  config.momentum = 0.95f;
  config.fast_lr = 1e-3f;
  config.probe_lr = 0.1f;
  config.threshold = 2.5f;
  const nlohmann::json json = config_to_json(config);
  // A float widened to double would print as 0.0003000000142492354.
  EXPECT_EQ(json.at("lr").dump(), "0.0003");
  EXPECT_EQ(json.at("momentum").dump(), "0.95");
  EXPECT_EQ(json.at("probe_lr").dump(), "0.1");
  const TrainConfig back = config_from_json(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(back.lr, config.lr);
  EXPECT_EQ(back.momentum, config.momentum);
  EXPECT_EQ(back.fast_lr, config.fast_lr);
  EXPECT_EQ(back.probe_lr, config.probe_lr);
  EXPECT_EQ(back.threshold, config.threshold);
}

TEST(ConfigParse, LayersAcceptBothFormsAndRejectNonsense) {
  EXPECT_EQ(parse_layers("4x2000", 784), (std::vector<int>{2000, 2000, 2000, 2000}));
  EXPECT_EQ(parse_layers("784,500,300", 784), (std::vector<int>{500, 300}));
  EXPECT_EQ(parse_layers("500,300", 784), (std::vector<int>{500, 300}));
  EXPECT_THROW(parse_layers("0x2000", 784), Error);
  EXPECT_THROW(parse_layers("4x", 784), Error);
  EXPECT_THROW(parse_layers("500,,300", 784), Error);
}

TEST(ConfigParse, ScoreLayersDefaultSkipsTheFirstLayer) {
  EXPECT_EQ(parse_score_layers("default", 4), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(parse_score_layers("default", 1), (std::vector<int>{0}));
  EXPECT_EQ(parse_score_layers("last3", 2), (std::vector<int>{0, 1}));
  EXPECT_EQ(parse_score_layers("1,3", 4), (std::vector<int>{0, 2}));
  EXPECT_THROW(parse_score_layers("5", 4), Error);
}

}  // namespace
}  // namespace ff
