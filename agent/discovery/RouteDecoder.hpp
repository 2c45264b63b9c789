// Decoding of the Gateway API's gateway.networking.k8s.io/v1 HTTPRoute and GRPCRoute: parents,
// hostnames, rules, filters, backends, timeouts and retries; matches are read by
// RouteMatchDecoder (internal header of the manifest decoder; README.md, "Routes").
#pragma once

#include "agent/discovery/CoreDecoder.hpp"
#include "agent/discovery/FieldReader.hpp"
#include "agent/discovery/Objects.hpp"
#include "agent/discovery/RouteMatchDecoder.hpp"

namespace weft::discovery::detail {

/// An HTTPRoute, with the API's defaults (no rules: one rule without backends; no matches: one
/// PathPrefix "/" match).
HttpRoute read_http_route(RouteReader& rr, const Field& root, Meta meta);

/// A GRPCRoute, with the API's defaults (no matches: one match of every call).
GrpcRoute read_grpc_route(RouteReader& rr, const Field& root, Meta meta);

}  // namespace weft::discovery::detail
