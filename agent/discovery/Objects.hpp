// Typed Kubernetes objects as the decoder yields them: only the fields the mesh reads.
// The same types come out of a manifest file today and out of an API watch later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/IpAddr.hpp"

namespace weft::discovery {

/// One entry of a v1 Service's spec.ports.
struct ServicePort {
  std::string name;          ///< empty when the Service has a single unnamed port
  uint16_t port = 0;         ///< the port clients dial on the cluster IP
  std::string target_port;   ///< a number ("8080") or a container port name ("http")
  std::string protocol;      ///< "TCP", "UDP" or "SCTP"
  std::string app_protocol;  ///< spec.ports[].appProtocol, empty when absent
};

/// A v1 Service.
struct Service {
  std::string name;
  std::string ns;
  std::vector<IpAddr> cluster_ips;  ///< empty for headless ("None") and ExternalName Services
  std::vector<ServicePort> ports;
  std::map<std::string, std::string> labels;

  /// "<name>.<ns>.svc.<cluster_domain>", the name Istio's destination_service label uses.
  std::string fqdn(std::string_view cluster_domain = "cluster.local") const;
};

/// One metadata.ownerReferences entry of a Pod.
struct OwnerReference {
  std::string kind;
  std::string name;
  bool controller = false;
};

/// A v1 Pod.
struct Pod {
  std::string name;
  std::string ns;
  std::string uid;
  std::string service_account;  ///< spec.serviceAccountName, "default" when absent
  std::string node_name;        ///< spec.nodeName, empty until scheduled
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<OwnerReference> owners;
  std::vector<IpAddr> ips;  ///< status.podIPs (status.podIP first), deduplicated
};

/// An EndpointSlice endpoint's targetRef.
struct ObjectReference {
  std::string kind;
  std::string name;
  std::string ns;  ///< defaults to the slice's namespace
};

/// One endpoints[] entry of an EndpointSlice.
struct SliceEndpoint {
  std::vector<IpAddr> addresses;
  /// conditions.ready; the API says an absent value means "unknown" and must be read as ready.
  bool ready = true;
  std::optional<ObjectReference> target;
  std::string node_name;
};

/// One ports[] entry of an EndpointSlice.
struct SlicePort {
  std::string name;  ///< matches the Service port of the same name ("" = unnamed)
  std::optional<uint16_t>
      port;              ///< absent means "not restricted"; such ports carry no traffic here
  std::string protocol;  ///< "TCP" when absent
};

/// A discovery.k8s.io/v1 EndpointSlice with addressType IPv4 or IPv6 (FQDN slices are ignored).
struct EndpointSlice {
  std::string name;
  std::string ns;
  std::string service_name;  ///< label kubernetes.io/service-name; empty = belongs to no Service
  std::string address_type;  ///< "IPv4" or "IPv6"
  std::vector<SliceEndpoint> endpoints;
  std::vector<SlicePort> ports;
};

/// spec.allow of a MeshPolicy: which authenticated sources may connect to the selected pods.
struct AllowRule {
  /// Exact workload SPIFFE IDs, or "*" (any authenticated source).
  std::vector<std::string> principals;
  /// Namespaces of sources, read from their SPIFFE IDs (spiffe://<td>/ns/<ns>/sa/<sa>).
  std::vector<std::string> namespaces;
};

/// A security.weft.io/v1alpha1 MeshPolicy: peer authentication mode and allowed callers of the
/// pods it selects in its namespace (semantics in agent/discovery/README.md).
struct MeshPolicy {
  enum class Mode {
    Strict,      ///< mTLS only: plaintext inbound is refused
    Permissive,  ///< plaintext inbound is accepted too (the default)
  };

  std::string name;
  std::string ns;
  /// spec.selector.matchLabels; empty = every pod of the namespace.
  std::map<std::string, std::string> match_labels;
  Mode mode = Mode::Permissive;
  /// spec.allow; nullopt = every source is allowed (subject to the mode).
  std::optional<AllowRule> allow;

  /// Whether a pod of the policy's namespace with these labels is selected (every matchLabels
  /// pair present with the same value).
  bool selects(const std::map<std::string, std::string>& labels) const;
};

// ---- Gateway API routes (gateway.networking.k8s.io/v1 HTTPRoute and GRPCRoute) ----
// weft attaches routes to Services (the GAMMA mesh profile); semantics in README.md.

/// A compiled regular expression (ECMAScript, matched against the whole text), compiled once by
/// the decoder and shared by every copy of the object, so that matching never compiles.
using Regex = std::shared_ptr<const std::regex>;

/// Compiles `pattern` as the decoder does: ECMAScript syntax; with libstdc++ also its
/// `__polynomial` mode, which matches with a set of NFA states instead of backtracking, so that a
/// match takes time linear in the text and stack independent of it (a backtracking std::regex
/// recurses once per character and overflows the stack on a few thousand). Back-references are
/// therefore refused. Throws std::regex_error.
Regex compile_regex(std::string_view pattern);

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
};

/// One matches[] entry of an HTTPRoute rule: every condition must hold.
struct HttpRouteMatch {
  PathMatch path;
  /// Later entries whose names equal an earlier one's case-insensitively are dropped (the
  /// Gateway API says they are ignored).
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query_params;
  std::string method;  ///< "GET", "POST"...; empty = any method
};

/// A GRPCRoute match's method: the request path is "/<service>/<method>".
struct GrpcMethodMatch {
  MatchType type = MatchType::Exact;
  std::string service;  ///< e.g. "helloworld.Greeter"; empty = any service
  std::string method;   ///< e.g. "SayHello"; empty = any method
  Regex service_regex;  ///< compiled when type is RegularExpression and service is not empty
  Regex method_regex;   ///< compiled when type is RegularExpression and method is not empty
};

/// One matches[] entry of a GRPCRoute rule: every condition must hold.
struct GrpcRouteMatch {
  std::optional<GrpcMethodMatch> method;  ///< nullopt = every service and method
  std::vector<ValueMatch> headers;        ///< as in HttpRouteMatch
};

/// A header set or added by a header modifier.
struct HttpHeader {
  std::string name;  ///< lower case
  std::string value;
};

/// A RequestHeaderModifier or ResponseHeaderModifier filter (Gateway API HTTPHeaderFilter). A
/// header name appears at most once across set, add and remove (case-insensitively).
struct HeaderModifier {
  std::vector<HttpHeader> set;      ///< replace every field of the name with this one
  std::vector<HttpHeader> add;      ///< append a field, keeping existing ones
  std::vector<std::string> remove;  ///< lower-case names whose fields are removed
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
};

/// A rule's timeouts (Gateway API Duration strings). nullopt = not set (the proxy's default);
/// zero = explicitly no timeout ("0s").
struct RouteTimeouts {
  std::optional<std::chrono::milliseconds> request;  ///< the whole exchange, retries included
  std::optional<std::chrono::milliseconds> backend_request;  ///< each attempt to a backend
};

/// A rule's retry block (GEP-1731; on GRPCRoute rules a weft extension).
struct RouteRetry {
  /// HTTPRoute: HTTP status codes 400-599. GRPCRoute: gRPC status codes 1-16, written in the
  /// manifest as names ("UNAVAILABLE" = 14). In manifest order, unique.
  std::vector<uint16_t> codes;
  std::optional<uint32_t> attempts;                  ///< retries after the first try; >= 1
  std::optional<std::chrono::milliseconds> backoff;  ///< minimum wait between attempts
};

/// What HTTPRoute and GRPCRoute rules share: everything but the matches.
struct RouteRule {
  std::string name;                                ///< rules[].name, empty when absent
  std::optional<HeaderModifier> request_headers;   ///< the RequestHeaderModifier filter
  std::optional<HeaderModifier> response_headers;  ///< the ResponseHeaderModifier filter
  std::vector<BackendRef> backends;                ///< empty: matching requests get a 500
  RouteTimeouts timeouts;
  std::optional<RouteRetry> retry;
};

/// An HTTPRoute rule. `matches` is never empty: absent or [] means one PathPrefix "/" match.
struct HttpRouteRule : RouteRule {
  std::vector<HttpRouteMatch> matches;
};

/// A GRPCRoute rule. `matches` is never empty: absent or [] means one match of every call.
struct GrpcRouteRule : RouteRule {
  std::vector<GrpcRouteMatch> matches;
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
};

/// A gateway.networking.k8s.io/v1 GRPCRoute.
struct GrpcRoute : Route {
  GrpcRoute() : Route(Kind::Grpc) {}
  std::vector<GrpcRouteRule> rules;
};

/// Any object the mesh reads.
using Object = std::variant<Service, EndpointSlice, Pod, MeshPolicy, HttpRoute, GrpcRoute>;

/// What one file (or one watch event) decoded to.
struct Decoded {
  std::vector<Object> objects;
  std::size_t ignored = 0;  ///< documents of kinds the mesh does not read (Gateway, ConfigMap...)
};

}  // namespace weft::discovery
