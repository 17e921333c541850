// TrainConfig parsing and its JSON form (result.json, checkpoint metadata).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>

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

// Every name of a table parses to its value and is written back as itself; the JSON form of a
// config reads back to the same JSON.
template <class E>
void expect_round_trip() {
  for (const auto& entry : NameTable<E>::entries) {
    EXPECT_EQ(parse_enum<E>(entry.name), entry.value) << entry.name;
    EXPECT_EQ(enum_name(entry.value), entry.name);
  }
  EXPECT_THROW(parse_enum<E>("no-such-name"), Error) << NameTable<E>::option;
}

TEST(ConfigNames, EveryTableRoundTripsAndRefusesUnknownNames) {
  expect_round_trip<Algo>();
  expect_round_trip<Task>();
  expect_round_trip<OptimizerKind>();
  expect_round_trip<GemmPrecision>();
  expect_round_trip<PassMode>();
  expect_round_trip<GraphsMode>();
  expect_round_trip<GoodnessMode>();
  expect_round_trip<FfLossKind>();
  expect_round_trip<DeviceChoice>();
  try {
    parse_enum<GoodnessMode>("max");
    ADD_FAILURE() << "an unknown goodness was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown --goodness 'max': use sum or mean");
  }
}

TEST(ConfigJson, EveryEnumFieldReadsBackAndAnUnknownNameFailsLoudly) {
  TrainConfig config;
  config.algo = Algo::kBpGoodnessLast;
  config.task = Task::kJigsaw;
  config.optimizer = OptimizerKind::kSgd;
  config.precision = GemmPrecision::kBf16;
  config.pass_mode = PassMode::kStreams;
  config.graphs = GraphsMode::kOff;
  config.goodness = GoodnessMode::kMean;
  config.loss = FfLossKind::kSymba;
  config.device = DeviceChoice::kCpu;
  const nlohmann::json json = config_to_json(config);
  EXPECT_EQ(config_to_json(config_from_json(json)), json);
  for (const char* field : {"algo", "task", "optimizer", "precision", "pass_mode", "graphs",
                            "goodness", "loss", "device"}) {
    nlohmann::json bad = json;
    bad[field] = "no-such-name";
    EXPECT_THROW(config_from_json(bad), Error) << field;  // never silently a default
  }
}

// The message of the ff::Error validate_config throws for `config` ("" when it passes).
std::string refusal(const TrainConfig& config) {
  try {
    validate_config(config);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigValidate, TheDefaultsPassAndEachBadValueIsRefusedNamingItsOption) {
  EXPECT_EQ(refusal(TrainConfig{}), "");
  struct Bad {
    const char* option;
    void (*apply)(TrainConfig&);
  };
  const Bad cases[] = {
      {"--train-limit", [](TrainConfig& c) { c.train_limit = -1; }},
      {"--test-limit", [](TrainConfig& c) { c.test_limit = -5; }},
      {"--train-limit", [](TrainConfig& c) { c.train_limit = 50; }},  // fewer than one batch
      {"--eval-every", [](TrainConfig& c) { c.eval_every = -2; }},
      {"--threshold", [](TrainConfig& c) { c.threshold = std::nanf(""); }},
      {"--threshold", [](TrainConfig& c) { c.threshold = -3.0f; }},
      {"--epochs", [](TrainConfig& c) { c.epochs = -1; }},
      {"--batch", [](TrainConfig& c) { c.batch = 0; }},
      {"--lr", [](TrainConfig& c) { c.lr = 0.0f; }},
      {"--lr", [](TrainConfig& c) { c.lr = std::numeric_limits<float>::infinity(); }},
      {"--momentum",
       [](TrainConfig& c) {
         c.optimizer = OptimizerKind::kSgd;
         c.momentum = 1.0f;
       }},
      {"--eval-batch", [](TrainConfig& c) { c.eval_batch = 0; }},
      {"--fast-epochs", [](TrainConfig& c) { c.fast_epochs = -1; }},
      {"--fast-lr", [](TrainConfig& c) { c.fast_lr = -1.0f; }},
      {"--save-every", [](TrainConfig& c) { c.save_every = 2; }},  // without --save
      {"--profile-steps", [](TrainConfig& c) { c.profile_steps = std::string("9:3"); }},
      {"--score-layers", [](TrainConfig& c) { c.score_layers = std::string("7"); }},
      {"--probe-layers",
       [](TrainConfig& c) {
         c.layers_spec = std::string("2x20");
         c.probe = true;
         c.probe_layers = std::string("9");
       }},
      {"--probe-epochs",
       [](TrainConfig& c) {
         c.probe = true;
         c.probe_epochs = 0;
       }},
      {"--layers", [](TrainConfig& c) { c.layers_spec = std::string("4y2000"); }},
      {"dataset", [](TrainConfig& c) { c.dataset = std::string("imagenet"); }},
      {"--algo bp-ce",
       [](TrainConfig& c) {
         c.algo = Algo::kBpCe;
         c.task = Task::kUnsupervised;
       }},
      {"--graphs on",
       [](TrainConfig& c) {
         c.graphs = GraphsMode::kOn;
         c.device = DeviceChoice::kCpu;
       }},
  };
  for (const Bad& bad : cases) {
    TrainConfig config;
    bad.apply(config);
    const std::string message = refusal(config);
    EXPECT_NE(message.find(bad.option), std::string::npos)
        << bad.option << " not named in: '" << message << "'";
  }
}

TEST(ConfigJson, ANegativeThresholdFromAnOlderBuildMeansTheDefault) {
  nlohmann::json json = config_to_json(TrainConfig{});
  json["threshold"] = -2.0;  // earlier builds took any negative value as "the default"
  EXPECT_EQ(config_from_json(json).threshold, kDefaultThreshold);
  EXPECT_EQ(refusal(config_from_json(json)), "");
}

TEST(ConfigValidate, EvaluationChecksOnlyWhatEvaluationReads) {
  TrainConfig config;
  config.lr = 0.0f;  // a checkpoint's training options do not matter to a probe
  config.momentum = 1.5f;
  config.eval_every = -1;
  EXPECT_NE(refusal(config), "");
  EXPECT_NO_THROW(validate_config(config, ConfigUse::kEvaluate));
  config.probe = true;
  config.probe_layers = std::string("9");
  config.layers_spec = std::string("2x20");
  EXPECT_THROW(validate_config(config, ConfigUse::kEvaluate), Error);
  TrainConfig adam;
  adam.momentum = 1.5f;  // Adam does not read it
  EXPECT_EQ(refusal(adam), "");
  adam.optimizer = OptimizerKind::kSgd;
  EXPECT_NE(refusal(adam).find("--momentum"), std::string::npos);
  TrainConfig huge;
  huge.batch = 2000000000;  // 2B rows would overflow int
  EXPECT_NE(refusal(huge).find("--batch"), std::string::npos);
}

}  // namespace
}  // namespace ff
