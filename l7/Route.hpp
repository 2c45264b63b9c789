// Gateway API routes (gateway.networking.k8s.io/v1 HTTPRoute and GRPCRoute) as l7 matches
// requests against them: parents, hostnames, rules, matches, filters, backends, timeouts and
// retries. Discovery decodes manifests into these types (agent/discovery/ManifestDecoder.hpp) and
// attaches them to Services (the GAMMA mesh profile); semantics in agent/discovery/README.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "l7/Regex.hpp"

namespace weft::l7 {

// Every type compares with operator== field by field; a Regex by identity (the same compiled
// expression), so two decodes of one regular expression compare unequal.

/// A route's spec.parentRefs[] entry: where it attaches. Only a core Service parent attaches in
/// weft; others (a Gateway) are kept but attach nowhere.
struct ParentRef {
  std::string group;  ///< "gateway.networking.k8s.io" when absent; "" or "core": the core group
  std::string kind;   ///< "Gateway" when absent
  std::string name;
  std::string ns;                ///< defaults to the route's namespace
  std::string section_name;      ///< for a Service: a port name; empty = every port
  std::optional<uint16_t> port;  ///< for a Service: a port number; nullopt = every port

  /// Whether the parent is a core Service (group "" or "core", kind "Service").
  bool is_service() const;

  bool operator==(const ParentRef&) const = default;
};

/// How a header, query parameter or gRPC service/method value is compared.
enum class MatchType {
  Exact,              ///< byte for byte (case-sensitive)
  RegularExpression,  ///< the whole value matches `regex`
};

/// One headers[] (HTTPRoute and GRPCRoute) or queryParams[] (HTTPRoute) match entry.
struct ValueMatch {
  MatchType type = MatchType::Exact;
  /// Header names are lower-cased (they compare case-insensitively); query parameter names are
  /// kept as written (they compare exactly).
  std::string name;
  std::string value;
  Regex regex;  ///< `value` compiled when type is RegularExpression, else null

  bool operator==(const ValueMatch&) const = default;
};

/// An HTTPRoute match's path.
struct PathMatch {
  enum class Type {
    Exact,              ///< the path (without the query) equals `value`
    PathPrefix,         ///< `value` is a prefix of the path by whole segments
    RegularExpression,  ///< the whole path matches `regex`
  };
  Type type = Type::PathPrefix;
  std::string value = "/";
  Regex regex;  ///< `value` compiled when type is RegularExpression, else null

  bool operator==(const PathMatch&) const = default;
};

/// One matches[] entry of an HTTPRoute rule: every condition must hold.
struct HttpRouteMatch {
  PathMatch path;
  /// Later entries whose names equal an earlier one's case-insensitively are dropped (the
  /// Gateway API says they are ignored).
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query_params;
  std::string method;  ///< "GET", "POST"...; empty = any method

  bool operator==(const HttpRouteMatch&) const = default;
};

/// A GRPCRoute match's method: the request path is "/<service>/<method>".
struct GrpcMethodMatch {
  MatchType type = MatchType::Exact;
  std::string service;  ///< e.g. "helloworld.Greeter"; empty = any service
  std::string method;   ///< e.g. "SayHello"; empty = any method
  Regex service_regex;  ///< compiled when type is RegularExpression and service is not empty
  Regex method_regex;   ///< compiled when type is RegularExpression and method is not empty

  bool operator==(const GrpcMethodMatch&) const = default;
};

/// One matches[] entry of a GRPCRoute rule: every condition must hold.
struct GrpcRouteMatch {
  std::optional<GrpcMethodMatch> method;  ///< nullopt = every service and method
  std::vector<ValueMatch> headers;        ///< as in HttpRouteMatch

  bool operator==(const GrpcRouteMatch&) const = default;
};

/// A header set or added by a header modifier.
struct HttpHeader {
  std::string name;  ///< lower case
  std::string value;

  bool operator==(const HttpHeader&) const = default;
};

/// A RequestHeaderModifier or ResponseHeaderModifier filter (Gateway API HTTPHeaderFilter). A
/// header name appears at most once across set, add and remove (case-insensitively).
struct HeaderModifier {
  std::vector<HttpHeader> set;      ///< replace every field of the name with this one
  std::vector<HttpHeader> add;      ///< append a field, keeping existing ones
  std::vector<std::string> remove;  ///< lower-case names whose fields are removed

  bool operator==(const HeaderModifier&) const = default;
};

/// A rule's backendRefs[] entry.
struct BackendRef {
  std::string group;  ///< "" (or "core") for a Service
  std::string kind;   ///< "Service" when absent
  std::string name;
  std::string ns;                ///< defaults to the route's namespace
  std::optional<uint16_t> port;  ///< the Service port; required for a Service
  uint32_t weight = 1;           ///< 0-1000000; 0 = never chosen

  /// Whether the backend is a core Service (group "" or "core", kind "Service").
  bool is_service() const;

  bool operator==(const BackendRef&) const = default;
};

/// A rule's timeouts (Gateway API Duration strings). nullopt = not set (the proxy's default);
/// zero = explicitly no timeout ("0s").
struct RouteTimeouts {
  std::optional<std::chrono::milliseconds> request;  ///< the whole exchange, retries included
  std::optional<std::chrono::milliseconds> backend_request;  ///< each attempt to a backend

  bool operator==(const RouteTimeouts&) const = default;
};

/// A rule's retry block (GEP-1731; on GRPCRoute rules a weft extension).
struct RouteRetry {
  /// HTTPRoute: HTTP status codes 400-599. GRPCRoute: gRPC status codes 1-16, written in the
  /// manifest as names ("UNAVAILABLE" = 14). In manifest order, unique.
  std::vector<uint16_t> codes;
  std::optional<uint32_t> attempts;                  ///< retries after the first try; >= 1
  std::optional<std::chrono::milliseconds> backoff;  ///< minimum wait between attempts

  bool operator==(const RouteRetry&) const = default;
};

/// What HTTPRoute and GRPCRoute rules share: everything but the matches.
struct RouteRule {
  std::string name;  ///< rules[].name, empty when absent
  /// The `route` label of the requests it matched: "<route>/<rule's name>", or
  /// "<route>/rule-<index>" for a rule without one (so its cardinality is the manifests').
  std::string metric_route;
  std::optional<HeaderModifier> request_headers;   ///< the RequestHeaderModifier filter
  std::optional<HeaderModifier> response_headers;  ///< the ResponseHeaderModifier filter
  std::vector<BackendRef> backends;                ///< empty: matching requests get a 500
  RouteTimeouts timeouts;
  std::optional<RouteRetry> retry;

  bool operator==(const RouteRule&) const = default;
};

/// An HTTPRoute rule. `matches` is never empty: absent or [] means one PathPrefix "/" match.
struct HttpRouteRule : RouteRule {
  std::vector<HttpRouteMatch> matches;

  bool operator==(const HttpRouteRule&) const = default;
};

/// A GRPCRoute rule. `matches` is never empty: absent or [] means one match of every call.
struct GrpcRouteRule : RouteRule {
  std::vector<GrpcRouteMatch> matches;

  bool operator==(const GrpcRouteRule&) const = default;
};

/// What HTTPRoute and GRPCRoute share: identity, parents and hostnames. A `const Route*` is an
/// HttpRoute or a GrpcRoute according to `kind` (static_cast to reach the rules).
struct Route {
  enum class Kind { Http, Grpc };

  Kind kind;
  std::string name;
  std::string ns;
  /// metadata.creationTimestamp; nullopt when absent (counts as newer than any timestamp).
  std::optional<std::chrono::sys_seconds> created;
  std::vector<ParentRef> parents;
  /// spec.hostnames: lower-case names, "*.example.com" matches any name ending in
  /// ".example.com"; empty = any host.
  std::vector<std::string> hostnames;

  /// "HTTPRoute" or "GRPCRoute".
  std::string_view kind_name() const;

  bool operator==(const Route&) const = default;

 protected:
  explicit Route(Kind k) : kind(k) {}
};

/// Gateway API's tie-break between two routes whose matches are equally specific: the older
/// creationTimestamp first (a route without one after any with one), then "{namespace}/{name}"
/// in alphabetical order. Kinds are not compared.
bool route_precedes(const Route& a, const Route& b);

/// A gateway.networking.k8s.io/v1 HTTPRoute.
struct HttpRoute : Route {
  HttpRoute() : Route(Kind::Http) {}
  std::vector<HttpRouteRule> rules;

  bool operator==(const HttpRoute&) const = default;
};

/// A gateway.networking.k8s.io/v1 GRPCRoute.
struct GrpcRoute : Route {
  GrpcRoute() : Route(Kind::Grpc) {}
  std::vector<GrpcRouteRule> rules;

  bool operator==(const GrpcRoute&) const = default;
};

}  // namespace weft::l7
