#include "common/AtomicFile.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "common/Fd.hpp"

namespace weft {
namespace {

/// A temp file that is unlinked unless commit() renamed it into place.
class TempFile {
 public:
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) {
      ::unlink(path_.c_str());
    }
  }

  Result<void> create(const std::filesystem::path& dir) {
    std::string tmpl = (dir / ".weft.XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    fd_.reset(::mkostemp(buf.data(), O_CLOEXEC));
    if (!fd_) {
      return fail_errno(fmt::format("create temp file in {}", dir.string()));
    }
    path_ = buf.data();
    return {};
  }

  int fd() const { return fd_.get(); }

  /// chmod, fsync, close, rename over `target`, fsync the directory.
  Result<void> commit(const std::filesystem::path& target, mode_t mode) {
    if (::fchmod(fd_.get(), mode) < 0) {
      return fail_errno(fmt::format("chmod {}", path_));
    }
    if (::fsync(fd_.get()) < 0) {
      return fail_errno(fmt::format("fsync {}", path_));
    }
    fd_.reset();
    if (::rename(path_.c_str(), target.c_str()) < 0) {
      return fail_errno(fmt::format("rename {} to {}", path_, target.string()));
    }
    path_.clear();
    // The rename itself is durable only once the directory is synced.
    auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) {
      return fail_errno(fmt::format("open {}", dir.string()));
    }
    if (::fsync(dfd.get()) < 0) {
      return fail_errno(fmt::format("fsync {}", dir.string()));
    }
    return {};
  }

 private:
  Fd fd_;
  std::string path_;
};

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_errno(fmt::format("write {}", what));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::filesystem::path parent_of(const std::filesystem::path& path) {
  return path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
}

}  // namespace

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   mode_t mode) {
  TempFile tmp;
  if (auto ok = tmp.create(parent_of(path)); !ok) {
    return ok;
  }
  if (auto ok = write_all(tmp.fd(), content, path.string()); !ok) {
    return ok;
  }
  return tmp.commit(path, mode);
}

Result<void> copy_file_atomically(const std::filesystem::path& from,
                                  const std::filesystem::path& to, mode_t mode) {
  Fd src(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src) {
    return fail_errno(fmt::format("open {}", from.string()));
  }
  TempFile tmp;
  if (auto ok = tmp.create(parent_of(to)); !ok) {
    return ok;
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(src.get(), chunk, sizeof(chunk));
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_errno(fmt::format("read {}", from.string()));
    }
    if (auto ok =
            write_all(tmp.fd(), std::string_view(chunk, static_cast<std::size_t>(n)), to.string());
        !ok) {
      return ok;
    }
  }
  return tmp.commit(to, mode);
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t limit) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return fail_errno(fmt::format("open {}", path.string()));
  }
  std::string out;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
    if (n == 0) {
      return out;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_errno(fmt::format("read {}", path.string()));
    }
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      return fail(Error::Kind::Protocol,
                  fmt::format("{} is larger than {} bytes", path.string(), limit));
    }
  }
}

}  // namespace weft
