#include "agent/redirect/Mounts.hpp"

#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "common/Log.hpp"

namespace weft::redirect {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_empty_dir(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) {
    return false;
  }
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      return false;
    }
  }
  return true;
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

Result<void> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail_errno("mkdir " + path);
  }
  return {};
}

Result<void> mount_bpffs(const std::string& path) {
  // mode=0700: pins give whoever can open them full control over the mesh's maps.
  if (::mount("bpf", path.c_str(), "bpf", 0, "mode=0700") != 0) {
    return fail_errno("mount bpffs on " + path);
  }
  log::info("bpffs_mounted", "path={}", path);
  return {};
}

// True if `path` is the root of a mount (a different device from its parent).
bool is_mount_root(const std::string& path) {
  struct stat self {};
  struct stat parent {};
  return ::stat(path.c_str(), &self) == 0 && ::stat(parent_of(path).c_str(), &parent) == 0 &&
         self.st_dev != parent.st_dev;
}

Result<void> remove_tree(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) {
    return fail_errno("opendir " + path);
  }
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    std::string child = path + "/" + name;
    if (entry->d_type == DT_DIR) {
      if (auto ok = remove_tree(child); !ok) {
        return ok;
      }
    } else if (::unlink(child.c_str()) != 0 && errno != ENOENT) {
      return fail_errno("unpin " + child);
    }
  }
  dir.reset();
  if (is_mount_root(path) && ::umount2(path.c_str(), MNT_DETACH) != 0) {
    return fail_errno("umount " + path);
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return fail_errno("rmdir " + path);
  }
  return {};
}

}  // namespace

Result<std::string> cgroup2_mount_point() {
  std::ifstream mounts("/proc/mounts");
  if (!mounts) {
    return fail_errno("open /proc/mounts");
  }
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source;
    std::string target;
    std::string fstype;
    fields >> source >> target >> fstype;
    if (fstype == "cgroup2") {
      return target;
    }
  }
  // `ip netns exec` runs its command in a private mount namespace with /sys mounted afresh: the
  // host's cgroup2 and bpffs mounts are not there (and a bpffs mounted there dies with it).
  return fail(Error::Kind::NotFound,
              "no cgroup2 mount in /proc/mounts: cgroup v2 is required, mounted in this mount "
              "namespace. Started with `ip netns exec`, which remounts /sys privately? Run the "
              "agent in the host's mount namespace instead, e.g. `nsenter --net=/run/netns/NODE "
              "weft-agent ...`");
}

bool on_bpffs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

Result<void> ensure_bpffs_dir(const std::string& dir, bool may_mount) {
  if (dir.size() < 2 || dir.front() != '/') {
    return fail(Error::Kind::Config, "bpffs dir must be an absolute path below /: '" + dir + "'");
  }
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  // Walk up to the deepest existing ancestor, remembering what is missing below it.
  std::vector<std::string> missing;
  std::string base = path;
  while (!exists(base)) {
    missing.push_back(base);
    base = parent_of(base);
  }
  if (!on_bpffs(base)) {
    if (!may_mount) {
      return fail(
          Error::Kind::Config,
          "bpffs dir " + path +
              " is not on a bpffs and bpffs_mount is false: mount bpffs "
              "on the node (e.g. at /sys/fs/bpf, as systemd does); a bpffs this process mounted "
              "would not outlive its container, and with it the pinned state that keeps "
              "pods failing closed while no agent runs");
    }
    std::string mount_point = base;
    if (!is_empty_dir(base)) {
      if (missing.empty()) {
        return fail(Error::Kind::Config,
                    "bpffs dir " + path + " exists, is not on a bpffs and is not empty");
      }
      mount_point = missing.back();
      missing.pop_back();
      if (auto ok = make_dir(mount_point); !ok) {
        return ok;
      }
    }
    if (auto ok = mount_bpffs(mount_point); !ok) {
      return ok;
    }
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (auto ok = make_dir(*it); !ok) {
      return ok;
    }
  }
  return {};
}

Result<void> remove_bpffs_dir(const std::string& dir) {
  if (!exists(dir)) {
    return {};
  }
  if (!on_bpffs(dir)) {
    return fail(Error::Kind::Config, "refusing to remove " + dir + ": not on a bpffs");
  }
  return remove_tree(dir);
}

}  // namespace weft::redirect
