#include "agent/netns/NetSysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/Fd.hpp"

namespace weft {

int enable_net_sysctl(const std::string& proc_dir, std::string key) {
  for (char& c : key) {
    c = c == '.' ? '/' : c;
  }
  std::string path = proc_dir + "/sys/net/" + key;
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), "1", 1) != 1) {
    return errno;
  }
  return 0;
}

}  // namespace weft
