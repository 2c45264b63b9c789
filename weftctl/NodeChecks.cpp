#include "weftctl/NodeChecks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/utsname.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace weft::weftctl {
namespace {

constexpr const char* kCategory = "weft-node";

std::optional<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

/// "\040" and the like, as the kernel escapes space, tab, newline and '\' in /proc/mounts.
std::string unescape(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

CheckResult kernel_check(const std::string& release) {
  CheckResult r{
      .category = kCategory,
      .check = fmt::format("kernel is Linux {}.{} or newer", kMinKernelMajor, kMinKernelMinor)};
  int major = 0;
  int minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("cannot read the kernel release \"{}\"", release);
    r.hint = "uname -r should print MAJOR.MINOR...";
    return r;
  }
  r.detail = "Linux " + release;
  if (major < kMinKernelMajor || (major == kMinKernelMajor && minor < kMinKernelMinor)) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("the kernel is Linux {}", release);
    r.hint = fmt::format(
        "weft needs Linux {}.{} or newer (its io_uring rings use DEFER_TASKRUN, its BPF "
        "programs CO-RE): upgrade the node's kernel",
        kMinKernelMajor, kMinKernelMinor);
  }
  return r;
}

CheckResult btf_check(bool btf) {
  CheckResult r{.category = kCategory, .check = "kernel exposes its BTF"};
  r.detail = "/sys/kernel/btf/vmlinux";
  if (!btf) {
    r.status = CheckStatus::Error;
    r.detail = "no /sys/kernel/btf/vmlinux";
    r.hint =
        "libbpf relocates weft's programs against the kernel's BTF: use a kernel built with "
        "CONFIG_DEBUG_INFO_BTF=y (every major distribution's is)";
  }
  return r;
}

CheckResult cgroup2_check(const std::string& mounts) {
  CheckResult r{.category = kCategory, .check = "cgroup v2 is mounted"};
  auto points = mount_points(mounts, "cgroup2");
  r.detail = fmt::format("cgroup2 at {}", fmt::join(points, ", "));
  if (points.empty()) {
    r.status = CheckStatus::Error;
    r.detail = "no cgroup2 file system in /proc/mounts";
    r.hint =
        "the agent attaches its connect hooks at the cgroup v2 root: boot with the unified "
        "hierarchy (systemd.unified_cgroup_hierarchy=1), or mount -t cgroup2 none /sys/fs/cgroup";
  }
  return r;
}

CheckResult bpffs_check(const std::string& mounts) {
  CheckResult r{.category = kCategory, .check = "bpffs is mounted"};
  auto points = mount_points(mounts, "bpf");
  r.detail = fmt::format("bpf at {}", fmt::join(points, ", "));
  if (points.empty()) {
    r.status = CheckStatus::Warning;
    r.detail = "no bpf file system in /proc/mounts";
    r.hint =
        "the agent mounts one at its bpffs_dir itself, unless started with bpffs_mount: false "
        "(as in the DaemonSet), when it refuses to start: mount -t bpf bpf /sys/fs/bpf (systemd "
        "does at boot)";
  }
  return r;
}

CheckResult io_uring_check(const std::optional<std::string>& disabled) {
  CheckResult r{.category = kCategory, .check = "io_uring is enabled"};
  std::string value = disabled ? disabled->substr(0, disabled->find('\n')) : "";
  r.detail = disabled ? "kernel.io_uring_disabled = " + value
                      : "no kernel.io_uring_disabled (before Linux 6.6: always enabled)";
  if (disabled && value != "0" && value != "1") {
    r.status = CheckStatus::Error;
    r.hint =
        "the agent runs one io_uring per core: sysctl kernel.io_uring_disabled=0 (1 also works: "
        "the agent has CAP_SYS_ADMIN)";
  }
  return r;
}

}  // namespace

NodeFacts read_node_facts() {
  NodeFacts facts;
  utsname name{};
  if (::uname(&name) == 0) {
    facts.kernel_release = name.release;
  }
  std::error_code ec;
  facts.btf = std::filesystem::exists("/sys/kernel/btf/vmlinux", ec);
  facts.mounts = read_text("/proc/mounts").value_or("");
  facts.io_uring_disabled = read_text("/proc/sys/kernel/io_uring_disabled");
  return facts;
}

std::vector<std::string> mount_points(const std::string& mounts, const std::string& type) {
  std::vector<std::string> points;
  std::istringstream lines(mounts);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string device;
    std::string point;
    std::string fs_type;
    if (fields >> device >> point >> fs_type && fs_type == type) {
      points.push_back(unescape(point));
    }
  }
  return points;
}

std::vector<CheckResult> node_checks(const NodeFacts& facts) {
  return {kernel_check(facts.kernel_release), btf_check(facts.btf), cgroup2_check(facts.mounts),
          bpffs_check(facts.mounts), io_uring_check(facts.io_uring_disabled)};
}

}  // namespace weft::weftctl
