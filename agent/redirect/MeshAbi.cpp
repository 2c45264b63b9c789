#include "agent/redirect/MeshAbi.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace weft::redirect {

weft_sockaddr to_abi(const SockAddr& addr) {
  weft_sockaddr out;
  std::memset(&out, 0, sizeof(out));
  out.family = addr.ip.family == AF_INET6 ? WEFT_AF_INET6 : WEFT_AF_INET;
  std::memcpy(out.addr, addr.ip.bytes.data(), addr.ip.family == AF_INET6 ? 16 : 4);
  out.port = htons(addr.port);
  return out;
}

std::optional<SockAddr> from_abi(const weft_sockaddr& addr) {
  SockAddr out;
  if (addr.family == WEFT_AF_INET) {
    in_addr a{};
    std::memcpy(&a, addr.addr, 4);
    out.ip = IpAddr::v4(a);
  } else if (addr.family == WEFT_AF_INET6) {
    in6_addr a{};
    std::memcpy(&a, addr.addr, 16);
    out.ip = IpAddr::v6(a);
  } else {
    return std::nullopt;
  }
  out.port = ntohs(addr.port);
  return out;
}

}  // namespace weft::redirect
