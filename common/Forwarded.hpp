// The `forwarded` header (RFC 7239) as weft's agents use it on tunnel CONNECT streams: which
// workload address a stream of a shared session is for. Only the `for=` node, one address.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/IpAddr.hpp"

namespace weft {

/// `for=10.0.0.1` or `for="[fd00::1]"` (IPv6 is quoted, as RFC 7239 section 6 requires).
std::string forwarded_for(const IpAddr& ip);

/// The address of exactly what forwarded_for() writes; nullopt for anything else (untrusted
/// peer input: no lists, no other parameters, no ports, no obfuscated identifiers).
std::optional<IpAddr> parse_forwarded_for(std::string_view value);

}  // namespace weft
