// Gateway API request routing without I/O: which HTTPRoute or GRPCRoute rule a request matches
// among the routes that apply to it at its Service port (discovery::World::routes_for), which of
// the rule's backends it goes to, and the header filters the rule applies. Semantics and precedence
// in agent/discovery/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "l7/Headers.hpp"
#include "l7/Route.hpp"

namespace weft::l7 {

/// What the matcher reads of one request.
struct RequestFacts {
  std::string_view method;     ///< ":method", e.g. "GET"
  std::string_view path;       ///< ":path" in origin form, query included: "/items?id=3"
  std::string_view authority;  ///< ":authority" (or Host); a port, if any, is ignored
  const Headers& headers;      ///< the request's header fields; names compare case-insensitively
  bool grpc = false;           ///< a gRPC call (content-type application/grpc...)
};

/// The rule a request matched and the backend chosen for it.
struct RouteChoice {
  /// An HttpRoute or a GrpcRoute, according to route->kind.
  const Route* route = nullptr;
  /// An HttpRouteRule or a GrpcRouteRule of `route` (same kind): filters,
  /// timeouts and retry are in the common part.
  const RouteRule* rule = nullptr;
  /// One of rule->backends, chosen by weight; nullptr when the rule has no backendRefs or all
  /// their weights are 0 (Gateway API: answer 500, or UNAVAILABLE for gRPC). A backend whose
  /// Service does not exist is still chosen: it has no endpoints.
  const BackendRef* backend = nullptr;
};

/// The route rule that matches (Gateway API precedence across all routes for the parent), then a
/// backend by weight using `random` (uniform 64-bit value supplied by the caller). nullopt: no
/// route matched (the caller then uses the Service's own endpoints).
///
/// `routes` are GRPCRoutes or HTTPRoutes, not both: discovery::World::routes_for() keeps one
/// type per Service port and client (Gateway API GEP-1426). GRPCRoutes take only gRPC requests
/// (`req.grpc`); HTTPRoutes take every request, gRPC ones too (they can match gRPC paths).
/// `routes` may be in any order: ties between routes are broken with route_precedes().
/// Allocates only for regular expression matches, repeated request headers and percent-encoded
/// query parameters.
std::optional<RouteChoice> match_route(std::span<const Route* const> routes,
                                       const RequestFacts& req, uint64_t random);

/// Applies a RequestHeaderModifier/ResponseHeaderModifier to a header list: removes every field
/// named in `remove`, replaces every field named in `set` by one field (at the first one's
/// place, or appended), then appends one field per `add` entry after any existing ones. Names
/// compare case-insensitively; the fields written get the filter's lower-case names.
void apply_header_filter(const HeaderModifier& filter, Headers& headers);

}  // namespace weft::l7
