#include "agent/netns/InPodSockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "agent/netns/NetSysctl.hpp"

namespace weft {

Result<Fd> listen_tcp(const SockAddr& addr, int backlog) {
  Fd fd(::socket(addr.ip.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket for " + addr.str());
  }
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail_errno("setsockopt SO_REUSEADDR/SO_REUSEPORT");
  }
  if (addr.ip.family == AF_INET6 &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return fail_errno("setsockopt IPV6_V6ONLY");
  }
  sockaddr_storage ss{};
  socklen_t len = addr.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return fail_errno("bind " + addr.str());
  }
  if (::listen(fd.get(), backlog) != 0) {
    return fail_errno("listen " + addr.str());
  }
  return fd;
}

Result<void> enable_listener_migration(const std::string& proc_dir) {
  if (int err = enable_net_sysctl(proc_dir, "ipv4.tcp_migrate_req"); err != 0) {
    return fail_errno(err == ENOENT ? "set net.ipv4.tcp_migrate_req=1 in the pod (Linux 5.14+)"
                                    : "set net.ipv4.tcp_migrate_req=1 in the pod",
                      err);
  }
  return {};
}

}  // namespace weft
