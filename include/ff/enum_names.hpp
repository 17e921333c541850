// One name table per enum of the configuration: the CLI parses with it, config_to_json writes
// with it, config_from_json reads with it, so a spelling cannot differ between the three and an
// unknown name fails loudly wherever it comes from (a flag, a checkpoint, a study grid).
//
// A table is a specialisation of NameTable<E> (see ff/config.hpp) with
//   static constexpr const char* option;          // the CLI flag, for messages: "--goodness"
//   static constexpr NamedValue<E> entries[] = {...};
#pragma once

#include <iterator>
#include <string>
#include <string_view>

#include "ff/error.hpp"

namespace ff {

template <class E>
struct NamedValue {
  E value;
  const char* name;
};

template <class E>
struct NameTable;

// "a | b | c": the valid names, for --help.
template <class E>
std::string enum_choices() {
  std::string text;
  for (const auto& entry : NameTable<E>::entries) {
    text += (text.empty() ? "" : " | ") + std::string(entry.name);
  }
  return text;
}

// The value called `name`; otherwise ff::Error "unknown --goodness 'max': use sum or mean".
template <class E>
E parse_enum(std::string_view name) {
  std::string valid;
  const auto& entries = NameTable<E>::entries;
  const size_t count = std::size(entries);
  for (size_t i = 0; i < count; ++i) {
    if (name == entries[i].name) return entries[i].value;
    valid += std::string(i == 0 ? "" : i + 1 == count ? " or " : ", ") + entries[i].name;
  }
  throw Error("unknown " + std::string(NameTable<E>::option) + " '" + std::string(name) +
              "': use " + valid);
}

// The name of `value`; an out-of-range value (memory corruption, a cast) is an internal error.
template <class E>
std::string enum_name(E value) {
  for (const auto& entry : NameTable<E>::entries) {
    if (entry.value == value) return entry.name;
  }
  throw InternalError(std::string("no name for a value of ") + NameTable<E>::option);
}

}  // namespace ff
