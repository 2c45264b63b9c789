#include "common/Forwarded.hpp"

#include <sys/socket.h>

#include <fmt/format.h>

namespace weft {

std::string forwarded_for(const IpAddr& ip) {
  return ip.family == AF_INET6 ? fmt::format("for=\"[{}]\"", ip.str())
                               : fmt::format("for={}", ip.str());
}

std::optional<IpAddr> parse_forwarded_for(std::string_view value) {
  if (!value.starts_with("for=")) {
    return std::nullopt;
  }
  value.remove_prefix(4);
  if (value.size() > 4 && value.starts_with("\"[") && value.ends_with("]\"")) {
    auto ip = IpAddr::parse(value.substr(2, value.size() - 4));
    return ip && ip->family == AF_INET6 ? ip : std::nullopt;
  }
  auto ip = IpAddr::parse(value);
  return ip && ip->family == AF_INET ? ip : std::nullopt;
}

}  // namespace weft
