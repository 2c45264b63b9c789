#include "cni/InstallerWatch.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/Fd.hpp"
#include "common/Log.hpp"

namespace weft::cni {
namespace {

namespace fs = std::filesystem;

/// How long a dir must be quiet after a change before it is looked at: a primary CNI that
/// writes its config in several steps is read once it is done, not in between.
constexpr int kQuietMs = 100;
/// The next look at a config that was missing or unusable.
constexpr int kRetryMs = 500;

constexpr uint32_t kConfigEvents = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                   IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr uint32_t kBinEvents = IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;

/// Reads every queued event; false when one says a watched dir itself went away.
bool drain(int fd) {
  alignas(inotify_event) char buf[16 * 1024];
  bool dirs_alive = true;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return dirs_alive;
    }
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
        dirs_alive = false;
      }
      p += sizeof(inotify_event) + ev->len;
    }
  }
}

class Watcher {
 public:
  explicit Watcher(const InstallerOptions& options) : options_(options) {}

  Result<void> watch_dirs() {
    inotify_ = Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_) {
      return fail_errno("inotify_init1");
    }
    for (auto [dir, events] :
         {std::pair{&options_.conf_dir, kConfigEvents}, std::pair{&options_.bin_dir, kBinEvents}}) {
      std::error_code ec;
      fs::create_directories(*dir, ec);
      if (::inotify_add_watch(inotify_.get(), dir->c_str(), events) < 0) {
        return fail_errno(fmt::format("watch {}", dir->string()));
      }
    }
    return {};
  }

  /// Puts back the binary and the entry; whether all is in place.
  bool reconcile() {
    auto binary = options_.bin_dir / std::string(kPluginType);
    std::error_code ec;
    if (!fs::exists(binary, ec)) {
      log::warn("cni_binary_missing", "path={} (putting it back)", binary.string());
      if (auto ok = install_binary(options_); !ok) {
        return report(ok.error().message);
      }
    }
    if (auto ok = chain_once(options_); !ok) {
      return report(ok.error().message);
    }
    last_problem_.clear();
    return true;
  }

  Result<void> run(int stop_fd) {
    bool pending = !reconcile();
    int wait_ms = pending ? kRetryMs : -1;
    for (;;) {
      pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
      int n = ::poll(fds, 2, wait_ms);
      if (n < 0 && errno != EINTR) {
        return fail_errno("poll");
      }
      if (n > 0 && (fds[1].revents & POLLIN) != 0) {
        log::info("cni_watch_stopped", "conf_dir={} (the entry stays in place)",
                  options_.conf_dir.string());
        return {};
      }
      if (n > 0 && (fds[0].revents & POLLIN) != 0) {
        if (!drain(inotify_.get())) {
          // A watched dir was removed or replaced: watch the new one.
          if (auto ok = watch_dirs(); !ok) {
            return ok;
          }
        }
        pending = true;
        wait_ms = kQuietMs;  // until the dir has been quiet that long
        continue;
      }
      if (n == 0 && pending) {
        pending = !reconcile();
        wait_ms = pending ? kRetryMs : -1;
      }
    }
  }

 private:
  /// Logs a problem once until it changes or goes away; returns false.
  bool report(const std::string& problem) {
    if (problem != last_problem_) {
      log::warn("cni_watch_retrying", "reason=\"{}\" retry_ms={}", problem, kRetryMs);
      last_problem_ = problem;
    }
    return false;
  }

  const InstallerOptions& options_;
  Fd inotify_;
  std::string last_problem_;
};

}  // namespace

Result<void> keep_installed(const InstallerOptions& options, int stop_fd) {
  Watcher w(options);
  if (auto ok = w.watch_dirs(); !ok) {
    return ok;
  }
  log::info("cni_watch_started", "conf_dir={} bin_dir={}", options.conf_dir.string(),
            options.bin_dir.string());
  return w.run(stop_fd);
}

}  // namespace weft::cni
