#include "agent/discovery/ManifestDir.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <set>

#include "agent/discovery/Text.hpp"
#include "common/Log.hpp"

namespace weft::discovery {
namespace {

// IN_CLOSE_WRITE: a file written in place is complete. IN_MOVED_TO/FROM: atomic replace by
// rename, and Kubernetes' ConfigMap volumes swapping their "..data" symlink. IN_CREATE: a new
// symlink (no write follows it). The *_SELF events: the directory itself went away.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr uint32_t kDirGone = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT;

int64_t nanos(const timespec& ts) {
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Result<void> create_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return fail_errno(fmt::format("create manifests directory {}", path), ec.value());
  }
  return {};
}

/// Reads at most `limit` + 1 bytes, so a file over the limit is detected even if it grew after
/// fstat.
Result<std::string> read_all(int fd, std::size_t limit) {
  std::string bytes;
  char buf[65536];
  while (bytes.size() <= limit) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_errno("read");
    }
    if (n == 0) {
      break;
    }
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  return bytes;
}

std::string too_many_files() {
  return fmt::format("more than {} manifest files; this one is not read", ManifestDir::kMaxFiles);
}

}  // namespace

bool is_manifest_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '~') {
    return false;
  }
  return name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
}

Result<ManifestDir> ManifestDir::open(std::string path, DecodeLimits limits) {
  if (auto ok = create_dir(path); !ok) {
    return std::unexpected(ok.error());
  }
  Fd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) {
    return fail_errno("inotify_init1");
  }
  ManifestDir dir(std::move(path), std::move(inotify), limits);
  if (auto ok = dir.watch(); !ok) {
    return std::unexpected(ok.error());
  }
  std::error_code ec;
  std::filesystem::directory_iterator probe(dir.path_, ec);
  if (ec) {
    return fail_errno(fmt::format("read manifests directory {}", dir.path_), ec.value());
  }
  dir.rescan({}, false, true);
  dir.rebuild();
  return dir;
}

Result<void> ManifestDir::watch() {
  int wd = ::inotify_add_watch(inotify_.get(), path_.c_str(), kWatchMask);
  if (wd < 0) {
    return fail_errno(fmt::format("inotify_add_watch {}", path_));
  }
  watch_ = wd;
  return {};
}

bool ManifestDir::process_events() {
  // Large enough for many events per read(2); each is 16 bytes plus a NUL-padded name.
  alignas(inotify_event) char buf[16384];
  std::set<std::string> dirty;
  bool any = false;
  bool by_stamp = false;
  bool all = false;
  bool dir_gone = false;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN) {
        log::error("manifest.inotify_failed", "dir=\"{}\" error=\"{}\"", escape(path_),
                   system_error("read inotify", errno).message);
      }
      break;
    }
    if (n == 0) {
      break;
    }
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      any = true;
      if (ev->mask & IN_Q_OVERFLOW) {
        all = true;  // events were lost: trust nothing
        continue;
      }
      if (ev->wd != watch_) {
        continue;  // a watch we already replaced
      }
      if (ev->mask & kDirGone) {
        dir_gone = true;
        continue;
      }
      std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view();
      if (!is_manifest_name(name)) {
        // e.g. a ConfigMap volume renaming "..data": the files behind the symlinks may have
        // changed, and their stamps (taken through the symlinks) tell which.
        by_stamp = true;
      } else if ((ev->mask & ~IN_ISDIR) != IN_CREATE) {
        // A bare IN_CREATE of a regular file is followed by IN_CLOSE_WRITE once it is written;
        // only symlinks (no write) need reading now, and rescan() finds them as new files.
        dirty.emplace(name);
      } else {
        struct stat st {};
        std::string full = path_ + "/" + std::string(name);
        if (::lstat(full.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
          dirty.emplace(name);
        }
      }
    }
  }
  if (!any) {
    return false;
  }
  if (dir_gone) {
    if (watch_ >= 0) {
      ::inotify_rm_watch(inotify_.get(), watch_);  // EINVAL after IN_IGNORED: already gone
      watch_ = -1;
    }
    log::warn("manifest.dir_replaced", "dir=\"{}\" (re-created and watched again)", escape(path_));
    if (auto ok = create_dir(path_); !ok) {
      log::error("manifest.watch_lost", "dir=\"{}\" error=\"{}\"", escape(path_),
                 escape(ok.error().message));
    } else if (auto watched = watch(); !watched) {
      log::error("manifest.watch_lost", "dir=\"{}\" error=\"{}\"", escape(path_),
                 escape(watched.error().message));
    }
    all = true;
  }
  if (!rescan(dirty, by_stamp, all)) {
    return false;
  }
  rebuild();
  return true;
}

bool ManifestDir::rescan(const std::set<std::string>& dirty, bool by_stamp, bool all) {
  std::map<std::string, Stamp> present;
  std::error_code ec;
  std::filesystem::directory_iterator it(path_, ec);
  if (ec) {
    // The directory vanished and could not be re-created: keep what we have.
    log::error("manifest.dir_unreadable", "dir=\"{}\" error=\"{}\"", escape(path_),
               escape(ec.message()));
    return false;
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!is_manifest_name(name)) {
      continue;
    }
    struct stat st {};
    // stat, not lstat: ConfigMap volumes present each file as a symlink into "..data/".
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    present[name] = Stamp{st.st_dev, st.st_ino, st.st_size, nanos(st.st_mtim), nanos(st.st_ctim)};
  }
  if (ec) {
    log::error("manifest.dir_unreadable", "dir=\"{}\" error=\"{}\"", escape(path_),
               escape(ec.message()));
    return false;
  }

  bool changed = false;
  for (auto file = files_.begin(); file != files_.end();) {
    if (present.contains(file->first)) {
      ++file;
      continue;
    }
    log::info("manifest.removed", "file={} objects={}", escape(file->first),
              file->second.objects.size());
    changed = changed || !file->second.objects.empty();
    file = files_.erase(file);
  }
  std::size_t index = 0;
  for (const auto& [name, stamp] : present) {
    // Names are sorted, so the same files fall beyond the limit on every scan.
    if (++index > kMaxFiles) {
      FileState& state = files_[name];
      std::string reason = too_many_files();
      if (state.error != reason) {
        log::warn("manifest.rejected", "file={} reason=\"{}\"", escape(name), escape(reason));
      }
      changed = changed || !state.objects.empty();
      state = FileState{stamp, {}, std::move(reason)};
      continue;
    }
    auto known = files_.find(name);
    bool fresh = known == files_.end();
    bool reread = fresh || all || dirty.contains(name) ||
                  (by_stamp && known->second.stamp != stamp) ||
                  known->second.error == too_many_files();  // back under the limit
    if (reread) {
      changed = load(name, stamp, files_[name]) || changed;
    }
  }
  return changed;
}

bool ManifestDir::load(const std::string& name, const Stamp& stamp, FileState& state) {
  state.stamp = stamp;
  auto reject = [&](std::string reason) {
    if (state.error != reason) {
      log::warn("manifest.rejected", "file={} reason=\"{}\"", escape(name), escape(reason));
    }
    state.error = std::move(reason);
    return false;  // the previous good objects stay in force
  };
  std::string full = path_ + "/" + name;
  // O_NONBLOCK: opening a FIFO someone named x.yaml must not hang the control thread.
  Fd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) {
      return false;  // deleted since the listing; its IN_DELETE event is queued
    }
    return reject(system_error("open", errno).message);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return reject(system_error("fstat", errno).message);
  }
  if (!S_ISREG(st.st_mode)) {
    return reject("not a regular file");
  }
  auto bytes = read_all(fd.get(), limits_.max_bytes);
  if (!bytes) {
    return reject(bytes.error().message);
  }
  auto decoded = decode_manifests(name, *bytes, limits_);
  if (!decoded) {
    std::string_view reason = decoded.error().message;
    // The decoder names the source first; the log line names the file on its own.
    if (reason.starts_with(name) && reason.substr(name.size()).starts_with(": ")) {
      reason.remove_prefix(name.size() + 2);
    }
    return reject(std::string(reason));
  }
  log::info("manifest.loaded", "file={} objects={} ignored={}", escape(name),
            decoded->objects.size(), decoded->ignored);
  state.error.clear();
  state.objects = std::move(decoded->objects);
  return true;
}

void ManifestDir::rebuild() {
  std::vector<Object> all;
  for (const auto& [name, state] : files_) {
    all.insert(all.end(), state.objects.begin(), state.objects.end());
  }
  auto previous = world_;
  world_ = World::build(std::move(all));
  ++generation_;
  std::set<std::string> known;
  if (previous) {
    known.insert(previous->warnings().begin(), previous->warnings().end());
  }
  for (const std::string& warning : world_->warnings()) {
    if (!known.contains(warning)) {
      log::warn("manifest.conflict", "dir=\"{}\" warning=\"{}\"", escape(path_), escape(warning));
    }
  }
  log::info("manifest.world", "generation={} services={} pods={} endpoints={} routes={} errors={}",
            generation_, world_->service_count(), world_->pod_count(), world_->endpoint_count(),
            world_->route_count(), errors().size());
}

std::vector<FileError> ManifestDir::errors() const {
  std::vector<FileError> out;
  for (const auto& [name, state] : files_) {
    if (!state.error.empty()) {
      out.push_back(FileError{name, state.error});
    }
  }
  return out;
}

}  // namespace weft::discovery
