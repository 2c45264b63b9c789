#include "weftctl/NodeChecks.hpp"

#include <doctest/doctest.h>

using namespace weft::weftctl;

namespace {

constexpr const char* kMounts =
    "sysfs /sys sysfs rw,nosuid 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n"
    "bpf /sys/fs/bpf bpf rw,mode=700 0 0\n"
    "none /mnt/my\\040cgroup cgroup2 rw 0 0\n";

NodeFacts healthy() {
  return {.kernel_release = "6.1.0-18-amd64",
          .btf = true,
          .mounts = kMounts,
          .io_uring_disabled = "0\n"};
}

CheckStatus status_of(const std::vector<CheckResult>& results, std::string_view check) {
  for (const CheckResult& r : results) {
    if (r.check.find(check) != std::string::npos) {
      return r.status;
    }
  }
  FAIL("no check " << check);
  return CheckStatus::Error;
}

}  // namespace

TEST_CASE("node checks: a node that meets every requirement passes them all") {
  auto results = node_checks(healthy());
  REQUIRE(results.size() == 5);
  for (const CheckResult& r : results) {
    CAPTURE(r.check);
    CHECK(r.status == CheckStatus::Ok);
    CHECK(r.category == "weft-node");
  }
  CHECK(results[2].detail == "cgroup2 at /sys/fs/cgroup, /mnt/my cgroup");
}

TEST_CASE("node checks: mount points are read with the kernel's escapes undone") {
  CHECK(mount_points(kMounts, "cgroup2") ==
        std::vector<std::string>{"/sys/fs/cgroup", "/mnt/my cgroup"});
  CHECK(mount_points(kMounts, "bpf") == std::vector<std::string>{"/sys/fs/bpf"});
  CHECK(mount_points("garbage\n\n", "bpf").empty());
}

TEST_CASE("node checks: each missing requirement fails its own check") {
  struct Case {
    const char* what;
    void (*spoil)(NodeFacts&);
    const char* check;
    CheckStatus status;
  };
  for (const auto& c : {
           Case{"old kernel", [](NodeFacts& f) { f.kernel_release = "5.15.0-91-generic"; },
                "kernel is Linux 6.1", CheckStatus::Error},
           Case{"6.0", [](NodeFacts& f) { f.kernel_release = "6.0.2"; }, "kernel is Linux 6.1",
                CheckStatus::Error},
           Case{"unreadable release", [](NodeFacts& f) { f.kernel_release = "banana"; },
                "kernel is Linux 6.1", CheckStatus::Error},
           Case{"no BTF", [](NodeFacts& f) { f.btf = false; }, "BTF", CheckStatus::Error},
           Case{"no cgroup2", [](NodeFacts& f) { f.mounts = "bpf /sys/fs/bpf bpf rw 0 0\n"; },
                "cgroup v2", CheckStatus::Error},
           // The agent mounts a bpffs itself unless told not to: a warning.
           Case{"no bpffs", [](NodeFacts& f) { f.mounts = "x /sys/fs/cgroup cgroup2 rw 0 0\n"; },
                "bpffs", CheckStatus::Warning},
           Case{"io_uring disabled", [](NodeFacts& f) { f.io_uring_disabled = "2\n"; }, "io_uring",
                CheckStatus::Error},
       }) {
    CAPTURE(c.what);
    NodeFacts facts = healthy();
    c.spoil(facts);
    auto results = node_checks(facts);
    CHECK(status_of(results, c.check) == c.status);
    int not_ok = 0;
    for (const CheckResult& r : results) {
      not_ok += r.status != CheckStatus::Ok ? 1 : 0;
      CHECK((r.status == CheckStatus::Ok) == r.hint.empty());
    }
    CHECK(not_ok == 1);
  }
  NodeFacts old = healthy();
  old.io_uring_disabled.reset();  // before 6.6 there is no such sysctl: enabled
  old.kernel_release = "6.10.3";  // 6.10 is newer than 6.1
  CHECK_FALSE(any_failed(node_checks(old)));
}
