// What this binary is: its version, the commit it was built from, the backends compiled in.
#pragma once

#include <string>

namespace ff {

std::string version();  // "0.1.0"
std::string commit();   // a git commit ("-dirty" when built from changed files), or "unknown"
// "ffcuda 0.1.0 (commit 1a2b3c4d5e6f; backends: cpu, cuda)": what `ffcuda --version` prints.
std::string version_line();

}  // namespace ff
