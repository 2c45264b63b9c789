// Fixtures for tests that need real network namespaces, veths, sockets and a bpffs: each one
// removes what it created in its destructor, so a failing test cleans up too.
#pragma once

#include <sched.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft::testing {

/// Runs argv (no shell) and throws with the command line if it does not exit 0.
void run_command(const std::vector<std::string>& argv);

/// Throws a clear "needs X" message unless the process is root and has BPF, bpffs support,
/// cgroup v2 and network namespaces.
void require_privileged_environment();

/// A named network namespace (`ip netns add weft-rt-<pid>-<n>`) with `lo` up; deleted on
/// destruction.
class TestNetns {
 public:
  TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  ~TestNetns();

  const std::string& name() const { return name_; }

  /// Runs `f` on a helper thread that has entered this netns (setns affects one thread only);
  /// sockets created there stay in this netns when used from other threads.
  template <class F>
  auto run(F&& f) -> decltype(f()) {
    using R = decltype(f());
    std::optional<R> out;
    std::exception_ptr error;
    std::thread worker([&] {
      try {
        if (::setns(fd_.get(), CLONE_NEWNET) != 0) {
          throw std::runtime_error("setns into " + name_ + " failed");
        }
        out.emplace(f());
      } catch (...) {
        error = std::current_exception();
      }
    });
    worker.join();
    if (error) {
      std::rethrow_exception(error);
    }
    return std::move(*out);
  }

  /// A socket(domain, type) created inside this netns.
  Fd socket(int domain, int type);
  /// The netns cookie (SO_NETNS_COOKIE of a socket made here).
  uint64_t cookie();
  /// if_nametoindex() inside this netns.
  int ifindex(const std::string& ifname);

 private:
  std::string name_;
  Fd fd_;
};

/// A veth pair joining two namespaces: `a_if` (address a_cidr) in `a`, `b_if` in `b`, both up.
void make_veth(TestNetns& a, const std::string& a_if, const std::string& a_cidr, TestNetns& b,
               const std::string& b_if, const std::string& b_cidr);

/// A bpffs dir for one test: a fresh directory under /tmp (on which the redirector mounts a
/// private bpffs) with `path()` below it. The destructor uninstalls, unmounts and removes it.
class TestBpffs {
 public:
  TestBpffs();
  TestBpffs(const TestBpffs&) = delete;
  TestBpffs& operator=(const TestBpffs&) = delete;
  ~TestBpffs();

  const std::string& path() const { return path_; }

 private:
  std::string root_;
  std::string path_;
};

/// A TCP listener bound to `addr` on `sock` (SO_REUSEADDR, backlog 16).
void listen_on(const Fd& sock, const SockAddr& addr);
/// connect(2); returns 0 or errno.
int connect_to(const Fd& sock, const SockAddr& addr);
/// accept(2) with a timeout; an empty Fd if nothing arrived in time.
Fd accept_within(const Fd& listener, std::chrono::milliseconds timeout);
SockAddr local_of(const Fd& sock);
SockAddr peer_of(const Fd& sock);
SockAddr addr(const char* text, uint16_t port);

}  // namespace weft::testing
