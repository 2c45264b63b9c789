// Typed Kubernetes objects as the decoder yields them: only the fields the mesh reads.
// The same types come out of a manifest file today and out of an API watch later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/IpAddr.hpp"
#include "l7/Route.hpp"

namespace weft::discovery {

/// One entry of a v1 Service's spec.ports.
struct ServicePort {
  std::string name;          ///< empty when the Service has a single unnamed port
  uint16_t port = 0;         ///< the port clients dial on the cluster IP
  std::string target_port;   ///< a number ("8080") or a container port name ("http")
  std::string protocol;      ///< "TCP", "UDP" or "SCTP"
  std::string app_protocol;  ///< spec.ports[].appProtocol, empty when absent
  /// Named in the Service's weft.io/no-idle-timeout-ports annotation: connections to this port
  /// carried as TCP are never closed for being idle (a database pool's quiet connections).
  bool no_idle_timeout = false;

  bool operator==(const ServicePort&) const = default;
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

  bool operator==(const Service&) const = default;
};

/// One metadata.ownerReferences entry of a Pod.
struct OwnerReference {
  std::string kind;
  std::string name;
  bool controller = false;

  bool operator==(const OwnerReference&) const = default;
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

  bool operator==(const Pod&) const = default;
};

/// An EndpointSlice endpoint's targetRef.
struct ObjectReference {
  std::string kind;
  std::string name;
  std::string ns;  ///< defaults to the slice's namespace

  bool operator==(const ObjectReference&) const = default;
};

/// One endpoints[] entry of an EndpointSlice.
struct SliceEndpoint {
  std::vector<IpAddr> addresses;
  /// conditions.ready; the API says an absent value means "unknown" and must be read as ready.
  bool ready = true;
  std::optional<ObjectReference> target;
  std::string node_name;

  bool operator==(const SliceEndpoint&) const = default;
};

/// One ports[] entry of an EndpointSlice.
struct SlicePort {
  std::string name;  ///< matches the Service port of the same name ("" = unnamed)
  std::optional<uint16_t>
      port;              ///< absent means "not restricted"; such ports carry no traffic here
  std::string protocol;  ///< "TCP" when absent

  bool operator==(const SlicePort&) const = default;
};

/// A discovery.k8s.io/v1 EndpointSlice with addressType IPv4 or IPv6 (FQDN slices are ignored).
struct EndpointSlice {
  std::string name;
  std::string ns;
  std::string service_name;  ///< label kubernetes.io/service-name; empty = belongs to no Service
  std::string address_type;  ///< "IPv4" or "IPv6"
  std::vector<SliceEndpoint> endpoints;
  std::vector<SlicePort> ports;

  bool operator==(const EndpointSlice&) const = default;
};

/// spec.allow of a MeshPolicy: which authenticated sources may connect to the selected pods.
struct AllowRule {
  /// Exact workload SPIFFE IDs, or "*" (any authenticated source).
  std::vector<std::string> principals;
  /// Namespaces of sources, read from their SPIFFE IDs (spiffe://<td>/ns/<ns>/sa/<sa>).
  std::vector<std::string> namespaces;

  bool operator==(const AllowRule&) const = default;
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

  bool operator==(const MeshPolicy&) const = default;
};

// ---- Gateway API routes: l7's route model (l7/Route.hpp), which discovery decodes into ----

using l7::BackendRef;
using l7::compile_regex;
using l7::GrpcMethodMatch;
using l7::GrpcRoute;
using l7::GrpcRouteMatch;
using l7::GrpcRouteRule;
using l7::HeaderModifier;
using l7::HttpHeader;
using l7::HttpRoute;
using l7::HttpRouteMatch;
using l7::HttpRouteRule;
using l7::MatchType;
using l7::ParentRef;
using l7::PathMatch;
using l7::Regex;
using l7::Route;
using l7::route_precedes;
using l7::RouteRetry;
using l7::RouteRule;
using l7::RouteTimeouts;
using l7::ValueMatch;

/// Any object the mesh reads.
using Object = std::variant<Service, EndpointSlice, Pod, MeshPolicy, HttpRoute, GrpcRoute>;

/// What one file (or one watch event) decoded to.
struct Decoded {
  std::vector<Object> objects;
  std::size_t ignored = 0;  ///< documents of kinds the mesh does not read (Gateway, ConfigMap...)
};

}  // namespace weft::discovery
