// The command's mapping of exceptions to messages and exit statuses (ff/error.hpp).
#include "ff/error.hpp"

#include <filesystem>

namespace ff {

ErrorReport error_report(const std::exception& error) {
  // InternalError's message already starts with "internal error:".
  const std::string what = error.what();
  if (dynamic_cast<const InternalError*>(&error)) return {"ffcuda: " + what, 2};
  if (dynamic_cast<const Error*>(&error)) return {"ffcuda: error: " + what, 1};
  if (dynamic_cast<const std::filesystem::filesystem_error*>(&error)) {
    return {"ffcuda: error: " + what + "; check the path and its permissions", 1};
  }
  return {"ffcuda: internal error: " + what, 2};
}

}  // namespace ff
