#include "agent/netns/Netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

namespace weft {

Result<Netns> Netns::open(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return fail_errno("open netns " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail_errno("stat netns " + path);
  }
  return Netns(std::move(fd), path, st.st_dev, st.st_ino);
}

Result<Netns> Netns::current() {
  return open("/proc/thread-self/ns/net");
}

Result<unsigned> interface_index(const std::string& name) {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) {
    return fail_errno("socket for SIOCGIFINDEX");
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFINDEX, &ifr) != 0) {
    return fail_errno("interface " + name);
  }
  return static_cast<unsigned>(ifr.ifr_ifindex);
}

Result<void> ensure_loopback_up() {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) {
    return fail_errno("socket for SIOCGIFFLAGS");
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return fail_errno("SIOCGIFFLAGS lo");
  }
  if ((ifr.ifr_flags & IFF_UP) != 0) {
    return {};
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) {
    return fail_errno("SIOCSIFFLAGS lo up");
  }
  return {};
}

}  // namespace weft
