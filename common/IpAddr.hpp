// An IPv4 or IPv6 address, comparable and hashable, with parsing and formatting.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace weft {

/// An IP address. IPv4 keeps its 4 bytes at the front of `bytes`; the rest stays zero.
struct IpAddr {
  sa_family_t family = AF_UNSPEC;
  std::array<uint8_t, 16> bytes{};

  static std::optional<IpAddr> parse(std::string_view text);
  static IpAddr v4(in_addr a);
  static IpAddr v6(const in6_addr& a);

  bool is_v4() const { return family == AF_INET; }
  bool is_loopback() const;
  std::string str() const;

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

/// An address plus a TCP port (host byte order).
struct SockAddr {
  IpAddr ip;
  uint16_t port = 0;

  static std::optional<SockAddr> from_sockaddr(const sockaddr* sa, socklen_t len);
  /// "10.0.0.1:80" or "[fd00::1]:80" (what str() prints); nullopt for anything else.
  static std::optional<SockAddr> parse(std::string_view text);
  /// Fills `out` and returns its length.
  socklen_t to_sockaddr(sockaddr_storage& out) const;
  std::string str() const;  ///< "10.0.0.1:80" or "[fd00::1]:80"

  friend bool operator==(const SockAddr&, const SockAddr&) = default;
};

/// A CIDR prefix such as 10.96.0.0/12.
struct Cidr {
  IpAddr base;
  uint8_t prefix_len = 0;

  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddr& ip) const;
  std::string str() const;
};

}  // namespace weft

template <>
struct std::hash<weft::IpAddr> {
  std::size_t operator()(const weft::IpAddr& a) const noexcept;
};

template <>
struct std::hash<weft::SockAddr> {
  std::size_t operator()(const weft::SockAddr& a) const noexcept {
    return std::hash<weft::IpAddr>{}(a.ip) * 31 + a.port;
  }
};
