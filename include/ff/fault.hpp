// Deterministic crash points for testing crash safety. FF_FAULT=<point>:<n> in the environment
// makes the process kill itself with SIGKILL (no cleanup, no flush: as a power cut or an OOM kill
// would) the n-th time it reaches `point`; unset, fault_point costs one comparison. The points:
//   step              after a training step was issued (mid-epoch)
//   after-metrics     an epoch's metrics line written, its checkpoint not yet
//   checkpoint-write  a checkpoint's temporary file complete, not yet renamed over the old one
//   evaluation        the final evaluation started
//   probe             after a linear-probe (or fast classifier) epoch
// docs/results.md lists what a resumed run is guaranteed to reproduce.
#pragma once

namespace ff {

void fault_point(const char* point);

}  // namespace ff
