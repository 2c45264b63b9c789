#include "agent/pods/StateFile.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/Fd.hpp"

namespace weft::agent {

Result<std::vector<PodRegistration>> load_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) {
      return std::vector<PodRegistration>{};
    }
    return fail_errno("open state file " + path);
  }
  std::vector<PodRegistration> pods;
  std::string line;
  int number = 0;
  // One registration per line, exactly as weft-cni sent it (the wire format is the file format).
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) {
      continue;
    }
    auto reg = decode_registration(line);
    if (!reg) {
      return fail(Error::Kind::Protocol,
                  fmt::format("{}:{}: {}", path, number, reg.error().message));
    }
    pods.push_back(std::move(*reg));
  }
  return pods;
}

Result<void> save_state(const std::string& path, const std::vector<PodRegistration>& pods) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  std::string text;
  for (const auto& reg : pods) {
    text += encode(reg);
  }
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) {
    return fail_errno("create " + tmp);
  }
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail_errno("write " + tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return fail_errno("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail_errno("rename " + tmp);
  }
  return {};
}

}  // namespace weft::agent
