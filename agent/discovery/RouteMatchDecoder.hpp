// Decoding of Gateway API route matches: HTTPRoute path, header, query parameter and method
// matches, GRPCRoute method and header matches, and the RE2 regular expressions of their
// RegularExpression values (internal header of the manifest decoder; README.md, "Routes").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agent/discovery/DecodeLimits.hpp"
#include "agent/discovery/FieldReader.hpp"
#include "agent/discovery/Objects.hpp"

namespace weft::discovery::detail {

/// What the route readers share while reading one route.
struct RouteReader {
  FieldReader& r;
  std::size_t& regex_program_left;
  const DecodeLimits& limits;
  Route::Kind kind;
  std::string ns;  ///< the route's namespace: default of parentRef and backendRef namespaces

  /// Compiles a RegularExpression value (RE2 syntax, l7::compile_regex()), charging its program
  /// size to the input's budget (DecodeLimits::max_regex_program_size); null after a failure.
  Regex regex(const Field& field, std::string_view pattern);
};

/// Reads a header (or query parameter) name; fails unless it is an RFC 7230 token. `what` names
/// it in the message ("an HTTP header name").
std::string read_header_name(FieldReader& r, const Field& field, std::string_view what);

/// A matches[] entry of an HTTPRoute rule.
HttpRouteMatch read_http_match(RouteReader& rr, const Field& f);

/// A matches[] entry of a GRPCRoute rule.
GrpcRouteMatch read_grpc_match(RouteReader& rr, const Field& f);

}  // namespace weft::discovery::detail
