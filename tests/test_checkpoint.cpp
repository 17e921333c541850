// Checkpoints: safetensors layout (checked independently of the reader), bit-exact round trips,
// atomic writes, and a clear ff::Error naming the file for every kind of damage.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "ff/checkpoint.hpp"
#include "ff/error.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

uint64_t header_length(const std::string& bytes) {
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), sizeof length);
  return length;
}

std::string with_header(const std::string& header_text, const std::string& data) {
  const uint64_t length = header_text.size();
  return std::string(reinterpret_cast<const char*>(&length), sizeof length) + header_text + data;
}

// Parses the header of the file at `path`, lets `edit` change it and writes it back, data
// unchanged.
void edit_header(const std::string& path, const std::function<void(Json&)>& edit) {
  const std::string bytes = read_bytes(path);
  const uint64_t length = header_length(bytes);
  Json header = Json::parse(bytes.substr(8, length));
  edit(header);
  write_bytes(path, with_header(header.dump(), bytes.substr(8 + length)));
}

std::vector<uint32_t> bits(const std::vector<float>& values) {
  std::vector<uint32_t> result;
  for (float value : values) result.push_back(std::bit_cast<uint32_t>(value));
  return result;
}

Checkpoint sample_checkpoint() {
  Checkpoint checkpoint;
  CheckpointTensor weight{"layer0.weight", {3, 4}, {}};
  for (int i = 0; i < 12; ++i) weight.data.push_back(0.25f * static_cast<float>(i) - 1.0f);
  // Values a lossy (text or conversion) path would change: -0, a denormal, inf, a NaN payload.
  weight.data[0] = -0.0f;
  weight.data[1] = std::numeric_limits<float>::denorm_min();
  weight.data[2] = std::numeric_limits<float>::infinity();
  weight.data[3] = std::bit_cast<float>(0x7fc01234u);
  weight.data[4] = 0.1f;
  checkpoint.tensors.push_back(weight);
  checkpoint.tensors.push_back({"layer0.bias", {4}, {1.5f, -2.5f, 3e-20f, 7e20f}});
  checkpoint.tensors.push_back(
      {"layer1.weight", {2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}});
  checkpoint.tensors.push_back({"empty", {0}, {}});
  checkpoint.tensors.push_back({"scale", {1}, {0.5f}});
  checkpoint.metadata["config"] = R"({"layers":"2x200","lr":0.03})";
  checkpoint.metadata["epoch"] = "7";
  checkpoint.metadata["optimizer_steps"] = "1200";
  checkpoint.metadata["note"] = "caf\xc3\xa9";  // UTF-8
  return checkpoint;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("ffcuda_checkpoint_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    path_ = (dir_ / "model.safetensors").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  std::string path_;
};

using CheckpointRoundTrip = CheckpointTest;
using CheckpointFormat = CheckpointTest;
using CheckpointAtomic = CheckpointTest;
using CheckpointCorrupt = CheckpointTest;
using CheckpointRequire = CheckpointTest;

TEST_F(CheckpointRoundTrip, TensorsAndMetadataAreBitIdentical) {
  const Checkpoint saved = sample_checkpoint();
  save_checkpoint(path_, saved);
  const Checkpoint loaded = load_checkpoint(path_);

  ASSERT_EQ(loaded.tensors.size(), saved.tensors.size());
  for (size_t i = 0; i < saved.tensors.size(); ++i) {
    SCOPED_TRACE(saved.tensors[i].name);
    EXPECT_EQ(loaded.tensors[i].name, saved.tensors[i].name);  // file order kept
    EXPECT_EQ(loaded.tensors[i].shape, saved.tensors[i].shape);
    EXPECT_EQ(bits(loaded.tensors[i].data), bits(saved.tensors[i].data));
  }
  std::map<std::string, std::string> expected = saved.metadata;
  expected["format"] = kCheckpointFormat;
  ASSERT_EQ(loaded.metadata.count("checksum"), 1u);
  const std::string checksum = loaded.metadata.at("checksum");
  EXPECT_EQ(checksum.size(), 8u);
  EXPECT_EQ(checksum.find_first_not_of("0123456789abcdef"), std::string::npos) << checksum;
  expected["checksum"] = checksum;
  EXPECT_EQ(loaded.metadata, expected);

  ASSERT_NE(loaded.find("layer0.bias"), nullptr);
  EXPECT_EQ(loaded.find("layer0.bias")->shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(loaded.find("absent"), nullptr);
}

TEST_F(CheckpointRoundTrip, SaveRejectsInconsistentTensors) {
  Checkpoint wrong_size;
  wrong_size.tensors.push_back({"w", {2, 3}, {1, 2, 3}});
  EXPECT_THROW(save_checkpoint(path_, wrong_size), Error);
  Checkpoint duplicate;
  duplicate.tensors.push_back({"w", {1}, {1}});
  duplicate.tensors.push_back({"w", {1}, {2}});
  EXPECT_THROW(save_checkpoint(path_, duplicate), Error);
  EXPECT_TRUE(files_in_dir().empty());
}

// An independent minimal safetensors reader: what `safetensors.torch.load_file` relies on.
TEST_F(CheckpointFormat, ParsesAsSafetensors) {
  const Checkpoint saved = sample_checkpoint();
  save_checkpoint(path_, saved);
  const std::string bytes = read_bytes(path_);
  ASSERT_GE(bytes.size(), 8u);
  const uint64_t length = header_length(bytes);
  ASSERT_LE(length, bytes.size() - 8);
  EXPECT_EQ(bytes[8], '{');  // the header starts right after the length
  EXPECT_EQ((8 + length) % 8, 0u) << "data section not 8-byte aligned";
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, length));
  const std::string data = bytes.substr(8 + length);

  ASSERT_TRUE(header.contains("__metadata__"));
  for (const auto& [key, value] : header["__metadata__"].items()) {
    EXPECT_TRUE(value.is_string()) << key;
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const CheckpointTensor& tensor : saved.tensors) {
    SCOPED_TRACE(tensor.name);
    ASSERT_TRUE(header.contains(tensor.name));
    const nlohmann::json& entry = header[tensor.name];
    EXPECT_EQ(entry["dtype"], "F32");
    EXPECT_EQ(entry["shape"].get<std::vector<int64_t>>(), tensor.shape);
    const auto begin = entry["data_offsets"][0].get<uint64_t>();
    const auto end = entry["data_offsets"][1].get<uint64_t>();
    ASSERT_EQ(end - begin, tensor.data.size() * sizeof(float));
    ASSERT_LE(end, data.size());
    if (end > begin) {  // memcmp must not be given an empty tensor's null buffer
      EXPECT_EQ(std::memcmp(data.data() + begin, tensor.data.data(), end - begin), 0);
    }
    ranges.emplace_back(begin, end);
  }
  EXPECT_EQ(header.size(), saved.tensors.size() + 1);  // nothing but tensors and __metadata__
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    EXPECT_EQ(begin, covered) << "gap or overlap";
    covered = end;
  }
  EXPECT_EQ(covered, data.size());
}

TEST_F(CheckpointFormat, DataIsAlignedForEveryHeaderLength) {
  for (int extra = 0; extra < 8; ++extra) {  // names of 8 lengths hit every padding amount
    Checkpoint checkpoint;
    checkpoint.tensors.push_back(
        {std::string("t").append(static_cast<size_t>(extra), 'x'), {2}, {1, 2}});
    save_checkpoint(path_, checkpoint);
    const std::string bytes = read_bytes(path_);
    EXPECT_EQ((8 + header_length(bytes)) % 8, 0u) << extra;
    EXPECT_EQ(load_checkpoint(path_).tensors.at(0).data, (std::vector<float>{1, 2}));
  }
}

TEST_F(CheckpointAtomic, LeavesNoTemporaryAndReplacesTheOldFile) {
  save_checkpoint(path_, sample_checkpoint());
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"model.safetensors"});

  Checkpoint second;
  second.tensors.push_back({"only", {2}, {4, 5}});
  second.metadata["epoch"] = "8";
  save_checkpoint(path_, second);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"model.safetensors"});
  const Checkpoint loaded = load_checkpoint(path_);
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_EQ(loaded.tensors[0].name, "only");
  EXPECT_EQ(loaded.metadata.at("epoch"), "8");
  EXPECT_EQ(loaded.metadata.count("config"), 0u);
}

TEST_F(CheckpointAtomic, MissingFolderThrowsAndLeavesNothing) {
  const std::string path = (dir_ / "missing" / "model.safetensors").string();
  try {
    save_checkpoint(path, sample_checkpoint());
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
  EXPECT_TRUE(files_in_dir().empty());
}

TEST_F(CheckpointAtomic, FailedRenameRemovesTheTemporary) {
  const fs::path folder = dir_ / "model.safetensors";  // a folder where the file should go
  fs::create_directories(folder / "keep");
  EXPECT_THROW(save_checkpoint(folder.string(), sample_checkpoint()), Error);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"model.safetensors"});
  EXPECT_TRUE(fs::is_directory(folder / "keep"));
}

// load_checkpoint must throw ff::Error naming the file and containing `fault`.
void expect_load_error(const std::string& path, const std::string& fault) {
  try {
    load_checkpoint(path);
    ADD_FAILURE() << "no error, expected: " << fault;
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fault), std::string::npos) << message;
  }
}

TEST_F(CheckpointCorrupt, MissingOrTooShortFile) {
  expect_load_error(path_, "cannot read");
  expect_load_error(dir_.string(), "cannot read");  // a folder
  write_bytes(path_, "abc");
  expect_load_error(path_, "too short");
}

TEST_F(CheckpointCorrupt, Truncated) {
  save_checkpoint(path_, sample_checkpoint());
  std::string bytes = read_bytes(path_);
  write_bytes(path_, bytes.substr(0, bytes.size() - 5));
  expect_load_error(path_, "truncated");
  write_bytes(path_, bytes.substr(0, 20));  // cut inside the header
  expect_load_error(path_, "header length");
}

TEST_F(CheckpointCorrupt, FlippedDataByteFailsTheChecksum) {
  save_checkpoint(path_, sample_checkpoint());
  std::string bytes = read_bytes(path_);
  bytes[bytes.size() - 10] ^= 0x01;
  write_bytes(path_, bytes);
  expect_load_error(path_, "the checkpoint is corrupt (checksum mismatch)");
}

TEST_F(CheckpointCorrupt, HugeHeaderLength) {
  save_checkpoint(path_, sample_checkpoint());
  std::string bytes = read_bytes(path_);
  const uint64_t huge = uint64_t{1} << 62;
  std::memcpy(bytes.data(), &huge, sizeof huge);
  write_bytes(path_, bytes);
  expect_load_error(path_, "header length");
}

TEST_F(CheckpointCorrupt, GarbageHeader) {
  save_checkpoint(path_, sample_checkpoint());
  std::string bytes = read_bytes(path_);
  std::fill(bytes.begin() + 8,
            bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_length(bytes)), '#');
  write_bytes(path_, bytes);
  expect_load_error(path_, "not valid JSON");
  write_bytes(path_, with_header("[1, 2, 3]", ""));
  expect_load_error(path_, "not a JSON object");
}

TEST_F(CheckpointCorrupt, WrongDtype) {
  save_checkpoint(path_, sample_checkpoint());
  edit_header(path_, [](Json& header) { header["layer0.bias"]["dtype"] = "F16"; });
  expect_load_error(path_, "F16");
}

TEST_F(CheckpointCorrupt, MissingField) {
  save_checkpoint(path_, sample_checkpoint());
  edit_header(path_, [](Json& header) { header["layer0.bias"].erase("data_offsets"); });
  expect_load_error(path_, "data_offsets");
}

TEST_F(CheckpointCorrupt, OffsetsThatDoNotMatchTheShape) {
  save_checkpoint(path_, sample_checkpoint());
  edit_header(path_, [](Json& header) { header["layer0.weight"]["shape"] = {3, 5}; });
  expect_load_error(path_, "do not match its shape [3,5]");
}

TEST_F(CheckpointCorrupt, OffsetsThatOverlapOrLeaveBytesUncovered) {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back({"a", {2}, {1, 2}});
  checkpoint.tensors.push_back({"b", {2}, {3, 4}});
  save_checkpoint(path_, checkpoint);
  const std::string original = read_bytes(path_);
  edit_header(path_, [](Json& header) { header["b"]["data_offsets"] = {0, 8}; });
  expect_load_error(path_, "overlaps");
  write_bytes(path_, original);
  edit_header(path_, [](Json& header) { header.erase("b"); });
  expect_load_error(path_, "unused bytes");
  write_bytes(path_, original);
  edit_header(path_, [](Json& header) { header["b"]["data_offsets"] = {16, 24}; });
  expect_load_error(path_, "beyond the data section");
}

TEST_F(CheckpointCorrupt, FormatAndChecksumMetadata) {
  save_checkpoint(path_, sample_checkpoint());
  const std::string original = read_bytes(path_);
  edit_header(path_, [](Json& header) { header["__metadata__"].erase("format"); });
  expect_load_error(path_, "no \"format\" metadata");
  write_bytes(path_, original);
  edit_header(path_, [](Json& header) { header["__metadata__"]["format"] = "other-v9"; });
  expect_load_error(path_, "format 'other-v9'");
  write_bytes(path_, original);
  edit_header(path_, [](Json& header) { header.erase("__metadata__"); });
  expect_load_error(path_, "no \"format\" metadata");
  write_bytes(path_, original);
  edit_header(path_, [](Json& header) { header["__metadata__"].erase("checksum"); });
  expect_load_error(path_, "no \"checksum\" metadata");
  write_bytes(path_, original);
  edit_header(path_, [](Json& header) { header["__metadata__"]["epoch"] = 7; });
  expect_load_error(path_, "not a string");
  write_bytes(path_, original);
  EXPECT_NO_THROW(load_checkpoint(path_));  // the restored original is fine
}

TEST_F(CheckpointRequire, MismatchNamesBothShapes) {
  const Checkpoint checkpoint = sample_checkpoint();
  EXPECT_EQ(&require_tensor(checkpoint, path_, "layer0.weight", {3, 4}), &checkpoint.tensors[0]);
  try {
    require_tensor(checkpoint, path_, "layer0.weight", {4, 3});
    FAIL() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path_), std::string::npos) << message;
    EXPECT_NE(message.find("'layer0.weight' has shape [3,4], expected [4,3]"), std::string::npos)
        << message;
  }
  try {
    require_tensor(checkpoint, path_, "layer9.weight", {2});
    FAIL() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'layer9.weight' is missing"), std::string::npos) << message;
    EXPECT_NE(message.find("[2]"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace ff
