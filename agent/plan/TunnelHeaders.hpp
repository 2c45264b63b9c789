// What a stream in the tunnel between agents says besides the request itself: on whose behalf
// it travels and, for HTTP requests, which app it is for.
#pragma once

#include <optional>
#include <string_view>

#include "agent/plan/FlowPlan.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

/// The Service address (ip:port) the app dialled.
inline constexpr std::string_view kServiceAddressHeader = "weft-service-address";
/// HTTP requests: the app's address in the destination pod (CONNECT says it in :authority).
inline constexpr std::string_view kDestinationHeader = "weft-destination";
/// HTTP requests: "http/1.1" when the client spoke HTTP/1.1, so the destination agent speaks it
/// to the app too (absent: HTTP/2, as the client did).
inline constexpr std::string_view kProtocolHeader = "weft-protocol";
inline constexpr std::string_view kHttp1Protocol = "http/1.1";
/// Who the stream is for, as RFC 7239 `for=<ip>`: CONNECT streams use `forwarded` itself
/// (HBONE's convention); HTTP requests use this name, so that an app's own Forwarded header
/// reaches the destination untouched.
inline constexpr std::string_view kConnectClientHeader = "forwarded";
inline constexpr std::string_view kRequestClientHeader = "weft-forwarded";

/// Adds `<client_header>: for=<client>` and the Service address of `plan`, when known.
void add_tunnel_claims(l7::Headers& head, const FlowPlan& plan, std::string_view client_header);

/// Reads the claims of a stream for `target`; `tunnel_source` (the session's peer address)
/// stands in for a missing or unreadable client header.
TunnelRequest read_tunnel_claims(const l7::Headers& head, std::string_view client_header,
                                 const SockAddr& target, const IpAddr& tunnel_source);

/// Whether `name` is a header only agents may set (weft-*): an app's own are dropped before a
/// request enters the tunnel, and the destination agent's are dropped before it reaches the app.
inline bool is_tunnel_header(std::string_view name) {
  return name.starts_with("weft-");
}

}  // namespace weft::proxy
