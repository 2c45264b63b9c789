// A network namespace held open by fd, and scoped entry into it (ztunnel's InpodNetns::run).
#pragma once

#include <sched.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "common/Error.hpp"
#include "common/Fd.hpp"

namespace weft {

/// An open network namespace. Two Netns are the same namespace iff their (dev, inode) match.
class Netns {
 public:
  /// Opens a netns by path (/var/run/netns/x, /proc/<pid>/ns/net).
  static Result<Netns> open(const std::string& path);
  /// The namespace the calling thread is in now.
  static Result<Netns> current();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  bool same_as(const Netns& other) const { return dev_ == other.dev_ && ino_ == other.ino_; }

  /// Runs `f` (which returns a Result) with the calling thread inside this namespace and moves
  /// the thread back to `home` afterwards, also when `f` fails. Only the calling thread moves
  /// (setns(2) affects one thread). Sockets created by `f` stay in this namespace for life.
  template <class F>
  auto run(const Netns& home, F&& f) const -> decltype(f()) {
    if (::setns(fd(), CLONE_NEWNET) != 0) {
      return fail_errno("setns into " + path_);
    }
    struct Return {
      const Netns& home;
      ~Return() {
        // A thread stranded in a pod's namespace would open every later socket there: that is
        // not recoverable, so crash rather than limp on.
        if (::setns(home.fd(), CLONE_NEWNET) != 0) {
          std::abort();
        }
      }
    } back{home};
    return f();
  }

 private:
  Netns(Fd fd, std::string path, dev_t dev, ino_t ino)
      : fd_(std::move(fd)), path_(std::move(path)), dev_(dev), ino_(ino) {}

  Fd fd_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

/// The index of interface `name` in the calling thread's namespace (SIOCGIFINDEX on a socket of
/// its own, so that failing to make one is reported as such, not as a missing interface).
Result<unsigned> interface_index(const std::string& name);

/// Brings the loopback interface of the calling thread's namespace up. Outbound redirection
/// targets 127.0.0.1, so a pod whose runtime left `lo` down could not reach its own listener.
Result<void> ensure_loopback_up();

}  // namespace weft
