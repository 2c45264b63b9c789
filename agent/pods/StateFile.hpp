// The registered pods, persisted so a restarted agent re-meshes them without a new CNI ADD.
#pragma once

#include <string>
#include <vector>

#include "common/Error.hpp"
#include "common/PodRegistration.hpp"

namespace weft::agent {

/// Reads the state file; a missing file is an empty list, a corrupt one an error.
Result<std::vector<PodRegistration>> load_state(const std::string& path);

/// Replaces the state file atomically (temp file, fsync, rename): a crash leaves the old or the
/// new list, never half of one.
Result<void> save_state(const std::string& path, const std::vector<PodRegistration>& pods);

}  // namespace weft::agent
