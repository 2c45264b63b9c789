// The two filesystems the redirector needs: cgroup v2 (where the socket hooks attach) and bpffs
// (where maps and links are pinned so they outlive the agent).
#pragma once

#include <string>

#include "common/Error.hpp"

namespace weft::redirect {

/// The mount point of the cgroup v2 hierarchy, read from /proc/mounts (first "cgroup2" entry).
Result<std::string> cgroup2_mount_point();

/// True if `path` exists on a bpffs.
bool on_bpffs(const std::string& path);

/// Makes the absolute directory `dir` exist on a bpffs. If its deepest existing ancestor is on a
/// bpffs, the missing components are created there. Otherwise a bpffs is mounted: on that
/// ancestor when it is an empty directory (the convention for /sys/fs/bpf, which sysfs offers
/// empty for exactly this), else on its first missing component, created for it.
/// With `may_mount` false nothing is mounted: a path not on a bpffs is an error.
Result<void> ensure_bpffs_dir(const std::string& dir, bool may_mount = true);

/// Removes `dir` and everything pinned below it (unpinning drops the pin's reference; objects
/// nobody else holds are freed). A bpffs mounted on `dir` itself is unmounted first. A missing
/// `dir` is not an error.
Result<void> remove_bpffs_dir(const std::string& dir);

}  // namespace weft::redirect
