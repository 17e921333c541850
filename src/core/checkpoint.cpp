#include "ff/checkpoint.hpp"

#include <unistd.h>  // fsync
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>

#include "ff/error.hpp"
#include "ff/fault.hpp"
#include "ff/run_log.hpp"

namespace ff {
namespace {

// safetensors stores the header length and the tensor bytes little-endian; we copy them verbatim.
static_assert(std::endian::native == std::endian::little,
              "checkpoints assume a little-endian host");

using Json = nlohmann::ordered_json;  // ordered, so the header lists tensors in file order

constexpr const char* kRecreate = "re-create it with --save";

[[noreturn]] void fail(const std::string& path, const std::string& fault,
                       const std::string& advice) {
  throw Error(path + ": " + fault + ": " + advice);
}

[[noreturn]] void corrupt(const std::string& path, const std::string& fault) {
  fail(path, "the checkpoint is corrupt (" + fault + ")", kRecreate);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// Elements in `shape`; nullopt when a dimension is negative or the F32 byte size overflows 64 bits.
std::optional<uint64_t> element_count(const std::vector<int64_t>& shape) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max() / sizeof(float);
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    const auto d = static_cast<uint64_t>(dim);
    if (d != 0 && count > kMax / d) return std::nullopt;
    count *= d;
  }
  return count;
}

std::string crc32_hex(const char* data, size_t size) {
  // crc32_z takes a size_t length, so data sections over 4 GiB need no chunking.
  const uLong crc = crc32_z(0L, reinterpret_cast<const Bytef*>(data), size);
  char text[9];
  std::snprintf(text, sizeof text, "%08lx", static_cast<unsigned long>(crc));
  return text;
}

// Writes the pieces to path + ".tmp", forces them to disk and renames that over `path`, so a crash
// or a full disk leaves either the old file or the complete new one at `path`, never a mix. On
// failure the temporary file is removed and `path` is untouched.
void write_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) {
    fail(path, std::string("cannot write the checkpoint (") + std::strerror(errno) + ")",
         "check that the folder exists and is writable");
  }
  bool ok = true;
  for (std::string_view piece : pieces) {
    ok = ok && std::fwrite(piece.data(), 1, piece.size(), file) == piece.size();
  }
  // fsync, not just fflush: otherwise a power loss soon after the rename can leave `path` empty.
  ok = ok && std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  const int error = errno;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::remove(temporary.c_str());
    fail(path, std::string("writing the checkpoint failed (") + std::strerror(error) + ")",
         "check the free disk space and try again");
  }
  fault_point("checkpoint-write");
  std::error_code rename_error;
  std::filesystem::rename(temporary, path, rename_error);
  if (rename_error) {
    std::remove(temporary.c_str());
    fail(path, "cannot replace the checkpoint (" + rename_error.message() + ")",
         "check that the path is not a folder and that the folder is writable");
  }
  sync_parent_folder(path);
}

std::string read_whole_file(const std::string& path) {
  // file_size first: it names the reason (missing, a folder, ...) and sizes the buffer.
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  std::string bytes;
  if (!error) bytes.resize(size);
  std::ifstream in(path, std::ios::binary);
  if (error || !in || !in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    fail(path, "cannot read the checkpoint (" + (error ? error.message() : "unreadable") + ")",
         "check the path and its permissions");
  }
  return bytes;
}

// A tensor's header entry, validated on its own; the tiling of the data section is checked later.
struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

Entry parse_entry(const std::string& path, const std::string& name, const Json& entry) {
  const std::string tensor = "tensor '" + name + "'";
  if (!entry.is_object()) corrupt(path, tensor + " is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) corrupt(path, tensor + " has no \"" + field + "\"");
  }
  const Json& dtype = entry["dtype"];
  if (!dtype.is_string() || dtype != "F32") {
    fail(path, tensor + " has dtype " + dtype.dump() + ", but only F32 is supported",
         "convert the tensor to float32 or " + std::string(kRecreate));
  }
  Entry result{name, {}, 0, 0};
  const Json& shape = entry["shape"];
  if (!shape.is_array()) corrupt(path, tensor + " has a shape that is not an array");
  for (const Json& dim : shape) {
    if (!dim.is_number_unsigned()) corrupt(path, tensor + " has a shape entry " + dim.dump());
    const auto value = dim.get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      corrupt(path, tensor + " has a shape entry " + dim.dump());
    }
    result.shape.push_back(static_cast<int64_t>(value));
  }
  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    corrupt(path, tensor + " has data_offsets " + offsets.dump() + " instead of [begin, end]");
  }
  result.begin = offsets[0].get<uint64_t>();
  result.end = offsets[1].get<uint64_t>();
  const std::optional<uint64_t> count = element_count(result.shape);
  if (!count || result.end < result.begin || result.end - result.begin != *count * sizeof(float)) {
    corrupt(path, tensor + " has data_offsets " + offsets.dump() + " that do not match its shape " +
                      shape_text(result.shape));
  }
  return result;
}

}  // namespace

const CheckpointTensor* Checkpoint::find(const std::string& name) const {
  for (const CheckpointTensor& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  // The data section: the tensors back to back, in order, as raw little-endian floats.
  std::string data;
  Json header = Json::object();
  std::set<std::string> names;
  for (const CheckpointTensor& tensor : checkpoint.tensors) {
    const std::string what = "cannot save tensor '" + tensor.name + "'";
    if (tensor.name == "__metadata__" || !names.insert(tensor.name).second) {
      fail(path, what + ": the name is reserved or used twice", "give each tensor a unique name");
    }
    const std::optional<uint64_t> count = element_count(tensor.shape);
    if (!count || *count != tensor.data.size()) {
      fail(path,
           what + ": it has " + std::to_string(tensor.data.size()) + " values for shape " +
               shape_text(tensor.shape),
           "make the shape match the data");
    }
    const uint64_t begin = data.size();
    data.append(reinterpret_cast<const char*>(tensor.data.data()),
                tensor.data.size() * sizeof(float));
    const uint64_t end = data.size();
    header[tensor.name] = {
        {"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", Json::array({begin, end})}};
  }
  Json metadata = Json::object();
  for (const auto& [key, value] : checkpoint.metadata) metadata[key] = value;
  metadata["format"] = kCheckpointFormat;
  metadata["checksum"] = crc32_hex(data.data(), data.size());
  header["__metadata__"] = std::move(metadata);

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error&) {  // dump() rejects strings that are not UTF-8
    fail(path, "cannot save the checkpoint: a tensor name or metadata entry is not valid UTF-8",
         "use UTF-8 text");
  }
  // Trailing spaces (allowed by safetensors) so the data starts 8-byte aligned after the length.
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t length = text.size();
  write_atomically(
      path, {std::string_view(reinterpret_cast<const char*>(&length), sizeof length), text, data});
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  if (bytes.size() < sizeof(uint64_t)) {
    corrupt(path, "only " + std::to_string(bytes.size()) + " bytes, too short for a header length");
  }
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), sizeof length);
  if (length > bytes.size() - sizeof length) {
    corrupt(path, "header length " + std::to_string(length) + " exceeds the file size " +
                      std::to_string(bytes.size()));
  }
  const char* header_begin = bytes.data() + sizeof length;
  const char* data = header_begin + length;
  const uint64_t data_size = bytes.size() - sizeof length - length;

  Json header;
  try {
    header = Json::parse(header_begin, data);
  } catch (const nlohmann::json::parse_error& error) {
    corrupt(path, "the header is not valid JSON, error at byte " + std::to_string(error.byte));
  } catch (const nlohmann::json::exception& error) {  // e.g. a number too large (found by fuzzing)
    corrupt(path, std::string("the header is not valid JSON (") + error.what() + ")");
  }
  if (!header.is_object()) corrupt(path, "the header is not a JSON object");

  // The format tag first: a safetensors file from elsewhere deserves "wrong file", not "corrupt".
  Checkpoint checkpoint;
  if (header.contains("__metadata__")) {
    const Json& metadata = header["__metadata__"];
    if (!metadata.is_object()) corrupt(path, "__metadata__ is not a JSON object");
    for (const auto& [key, value] : metadata.items()) {
      if (!value.is_string()) corrupt(path, "metadata '" + key + "' is not a string");
      checkpoint.metadata[key] = value.get<std::string>();
    }
  }
  const auto format = checkpoint.metadata.find("format");
  if (format == checkpoint.metadata.end() || format->second != kCheckpointFormat) {
    const std::string found = format == checkpoint.metadata.end()
                                  ? "no \"format\" metadata"
                                  : "format '" + format->second + "'";
    fail(path, "not an ffcuda checkpoint (" + found + ", expected '" + kCheckpointFormat + "')",
         "pass a checkpoint written by --save");
  }

  std::vector<Entry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name != "__metadata__") entries.push_back(parse_entry(path, name, entry));
  }
  // File order is offset order (other writers may list the header in any order); stable, so
  // empty tensors sharing an offset keep their header order.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  uint64_t covered = 0;  // the tensors must tile the data section: no gaps, no overlaps
  for (const Entry& entry : entries) {
    const std::string tensor = "tensor '" + entry.name + "'";
    if (entry.end > data_size) {
      corrupt(path, tensor + " ends at byte " + std::to_string(entry.end) +
                        " beyond the data section of " + std::to_string(data_size) +
                        " bytes; the file is truncated");
    }
    if (entry.begin < covered) corrupt(path, tensor + " overlaps the tensor before it");
    if (entry.begin > covered) corrupt(path, "unused bytes before " + tensor);
    covered = entry.end;
  }
  if (covered != data_size) {
    corrupt(path, std::to_string(data_size - covered) + " unused bytes after the last tensor");
  }

  const auto checksum = checkpoint.metadata.find("checksum");
  if (checksum == checkpoint.metadata.end()) corrupt(path, "no \"checksum\" metadata");
  if (checksum->second != crc32_hex(data, data_size)) corrupt(path, "checksum mismatch");

  for (Entry& entry : entries) {
    CheckpointTensor tensor{std::move(entry.name), std::move(entry.shape), {}};
    tensor.data.resize((entry.end - entry.begin) / sizeof(float));
    // memcpy, not a cast: the data need not be float-aligned inside `bytes`.
    // (A zero-element tensor has no buffer: memcpy must not be given its null pointer.)
    if (!tensor.data.empty())
      std::memcpy(tensor.data.data(), data + entry.begin, entry.end - entry.begin);
    checkpoint.tensors.push_back(std::move(tensor));
  }
  return checkpoint;
}

const CheckpointTensor& require_tensor(const Checkpoint& checkpoint, const std::string& path,
                                       const std::string& name, const std::vector<int64_t>& shape) {
  const CheckpointTensor* tensor = checkpoint.find(name);
  const std::string advice = "load it with the network configuration it was saved with";
  if (!tensor) {
    fail(path, "tensor '" + name + "' is missing, expected shape " + shape_text(shape), advice);
  }
  if (tensor->shape != shape) {
    fail(path,
         "tensor '" + name + "' has shape " + shape_text(tensor->shape) + ", expected " +
             shape_text(shape),
         advice);
  }
  return *tensor;
}

}  // namespace ff
