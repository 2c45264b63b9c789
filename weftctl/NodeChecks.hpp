// `weftctl check`'s view of the machine it runs on as a weft node (README, "Requirements on
// every node"): Linux 6.1 or newer, the kernel's BTF (libbpf relocates weft's programs against
// it), a cgroup v2 mount (the connect hooks attach at its root), a bpffs (the pins outlive an
// agent restart), and io_uring not disabled. The facts are read once; the checks are pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "weftctl/CheckResults.hpp"

namespace weft::weftctl {

/// What the checks look at, as the kernel reports it.
struct NodeFacts {
  std::string kernel_release;  ///< uname -r, e.g. "6.1.0-18-amd64"
  bool btf = false;            ///< /sys/kernel/btf/vmlinux exists
  std::string mounts;          ///< the text of /proc/mounts
  /// /proc/sys/kernel/io_uring_disabled (Linux 6.6+); nullopt when the kernel has none.
  std::optional<std::string> io_uring_disabled;
};

/// The oldest kernel weft runs on (major, minor).
inline constexpr int kMinKernelMajor = 6;
inline constexpr int kMinKernelMinor = 1;

/// This machine's facts.
NodeFacts read_node_facts();

/// The mount points of file system `type` in `mounts` (/proc/mounts text), in order, with the
/// kernel's octal escapes (\040 for a space) undone.
std::vector<std::string> mount_points(const std::string& mounts, const std::string& type);

/// Category "weft-node": kernel version, BTF, cgroup v2, bpffs (a warning when missing: the
/// agent mounts one itself unless bpffs_mount is false), io_uring.
std::vector<CheckResult> node_checks(const NodeFacts& facts);

}  // namespace weft::weftctl
