// Crash-safe file replacement: the CNI config and plugin directories (the container runtime
// watches them and must never see a half-written file) and the mesh CA files weftctl writes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/Error.hpp"

namespace weft {

/// Writes `content` to a hidden temp file beside `path`, fsyncs it, renames it over `path` and
/// fsyncs the directory, so readers see the old file or the new one, never a mix. The temp
/// name (".weft.XXXXXX") has no .conf/.conflist/.json extension, so a CNI runtime ignores it.
/// The temp file is created 0600 and gets `mode` only just before the rename.
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   mode_t mode);

/// Copies `from` to `to` the same way. Replacing a running executable is safe: rename swaps the
/// directory entry, processes keep the old inode (no ETXTBSY).
Result<void> copy_file_atomically(const std::filesystem::path& from,
                                  const std::filesystem::path& to, mode_t mode);

/// Reads a whole file, at most `limit` bytes (more is a Protocol error).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t limit);

}  // namespace weft
