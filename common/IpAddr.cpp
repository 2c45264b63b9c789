#include "common/IpAddr.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace weft {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (text.empty() || text.size() >= sizeof(buf)) {
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    return v4(a4);
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    return v6(a6);
  }
  return std::nullopt;
}

IpAddr IpAddr::v4(in_addr a) {
  IpAddr ip;
  ip.family = AF_INET;
  std::memcpy(ip.bytes.data(), &a, 4);
  return ip;
}

IpAddr IpAddr::v6(const in6_addr& a) {
  IpAddr ip;
  ip.family = AF_INET6;
  std::memcpy(ip.bytes.data(), &a, 16);
  return ip;
}

bool IpAddr::is_loopback() const {
  if (family == AF_INET) {
    return bytes[0] == 127;
  }
  static constexpr std::array<uint8_t, 16> kLoop6 = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
  return family == AF_INET6 && bytes == kLoop6;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) {
    return "-";
  }
  inet_ntop(family, bytes.data(), buf, sizeof(buf));
  return buf;
}

std::optional<SockAddr> SockAddr::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return SockAddr{IpAddr::v4(in->sin_addr), ntohs(in->sin_port)};
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return SockAddr{IpAddr::v6(in6->sin6_addr), ntohs(in6->sin6_port)};
  }
  return std::nullopt;
}

socklen_t SockAddr::to_sockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof(out));
  if (ip.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, ip.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, ip.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::string SockAddr::str() const {
  return ip.family == AF_INET6 ? fmt::format("[{}]:{}", ip.str(), port)
                               : fmt::format("{}:{}", ip.str(), port);
}

std::optional<SockAddr> SockAddr::parse(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    host = host.substr(1, host.size() - 2);
  }
  auto ip = IpAddr::parse(host);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!ip || ip->is_v4() == bracketed || ec != std::errc{} ||
      end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  return SockAddr{*ip, static_cast<uint16_t>(port)};
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) {
    return std::nullopt;
  }
  unsigned max_len = ip->is_v4() ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc{} || ptr != digits.data() + digits.size() || len > max_len) {
      return std::nullopt;
    }
  }
  return Cidr{*ip, static_cast<uint8_t>(len)};
}

bool Cidr::contains(const IpAddr& ip) const {
  if (ip.family != base.family) {
    return false;
  }
  unsigned full = prefix_len / 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), full) != 0) {
    return false;
  }
  unsigned rest = prefix_len % 8;
  if (rest == 0) {
    return true;
  }
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::string Cidr::str() const {
  return fmt::format("{}/{}", base.str(), prefix_len);
}

}  // namespace weft

std::size_t std::hash<weft::IpAddr>::operator()(const weft::IpAddr& a) const noexcept {
  uint64_t lo = 0;
  uint64_t hi = 0;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  return std::hash<uint64_t>{}(lo * 0x9E3779B97F4A7C15ULL ^ hi ^ a.family);
}
