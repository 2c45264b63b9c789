// The node agent's read-only picture of the cluster: Services, their ready endpoints, Pods and
// MeshPolicies, indexed for per-connection lookups. Built once per change, then shared by every
// worker as std::shared_ptr<const World> and read without locks.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/discovery/Objects.hpp"
#include "common/IpAddr.hpp"

namespace weft::discovery {

/// What the mesh knows about one pod.
struct PodInfo {
  std::string name;
  std::string ns;
  std::string uid;
  std::string service_account;  ///< identity: spiffe://<td>/ns/<ns>/sa/<service_account>
  std::string workload;         ///< see workload_name()
  std::string node_name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<IpAddr> ips;
  /// True when no Pod object exists and this entry was made from an EndpointSlice targetRef:
  /// name, namespace, node and IPs are known; service account "default" is only assumed.
  bool synthesized = false;
};

/// One ready backend address of a Service port.
struct Endpoint {
  SockAddr addr;         ///< pod IP and the EndpointSlice's port number
  std::string pod_name;  ///< from targetRef, else from the Pod owning the IP, else empty
  std::string pod_namespace;
  const PodInfo* pod = nullptr;  ///< points into the same World
  std::string node_name;
};

/// What a connection's original destination is.
struct Resolution {
  enum class Kind {
    Service,      ///< a ClusterIP:port of a Service's TCP port
    Pod,          ///< a known pod IP (any port)
    Passthrough,  ///< anything else: connect to the address as is
  };
  Kind kind = Kind::Passthrough;
  const Service* service = nullptr;
  const ServicePort* port = nullptr;
  /// Ready endpoints of that Service port in the destination's IP family, deduplicated and
  /// sorted; empty when the Service has none (the caller refuses the connection).
  std::span<const Endpoint> endpoints;
  const PodInfo* pod = nullptr;
};

/// Immutable snapshot; every pointer and span it hands out lives as long as the World.
class World {
 public:
  /// Indexes `objects`. Duplicates (same kind, namespace and name) and address conflicts keep
  /// the first object and add a line to warnings(); building never fails.
  static std::shared_ptr<const World> build(std::vector<Object> objects);
  /// A World with nothing in it.
  static std::shared_ptr<const World> empty();

  World(const World&) = delete;
  World& operator=(const World&) = delete;

  /// ClusterIP:port -> Service; a known pod IP -> Pod; otherwise Passthrough. IPv4-mapped IPv6
  /// addresses are looked up as IPv4. Two hash lookups at most.
  Resolution resolve(const SockAddr& dst) const;
  /// The appProtocol of the Service ports that have `endpoint` (pod IP and port) among their
  /// ready endpoints, for traffic that reaches the pod without a Service address (inbound from
  /// outside the mesh); empty when none declares one or they disagree. One hash lookup.
  std::string_view endpoint_app_protocol(const SockAddr& endpoint) const;
  /// The pod owning `ip`, from Pod status first, then from EndpointSlice targetRefs.
  const PodInfo* pod_by_ip(const IpAddr& ip) const;
  const PodInfo* pod_by_name(std::string_view ns, std::string_view name) const;
  const Service* service_by_name(std::string_view ns, std::string_view name) const;

  /// MeshPolicies of `pod`'s namespace that select it, in load order (files by name, then
  /// documents). Cost: one hash lookup plus a label match per policy of that namespace.
  std::vector<const MeshPolicy*> policies_for(const PodInfo& pod) const;
  /// Every MeshPolicy of namespace `ns`, in load order; empty when it has none. Allocation-free
  /// form of policies_for() for callers that match selectors themselves.
  std::span<const MeshPolicy* const> policies_in(std::string_view ns) const;
  const MeshPolicy* policy_by_name(std::string_view ns, std::string_view name) const;

  /// The HTTPRoutes and GRPCRoutes that apply to a request from a client in namespace
  /// `client_ns` to `port` of `service` (a Service of this World, or one with the same namespace
  /// and name). A route attaches there through a parentRef to that core Service (group "" or
  /// "core", kind Service, namespace defaulting to the route's) whose port is absent or `port`
  /// and whose sectionName is absent or the name of that Service port. The Gateway API's mesh
  /// profile (GEP-1426) then tells two kinds apart: a route of the Service's own namespace (a
  /// producer route) applies to clients of every namespace; a route of another namespace (a
  /// consumer route) only to clients of its own, and for them the consumer routes of their
  /// namespace replace the producer routes. Of those, only one type applies (GEP-1426): when
  /// they include a GRPCRoute, only the GRPCRoutes, else the HTTPRoutes; the ignored HTTPRoutes
  /// are listed in warnings(). Each route once, in route_precedes() order. One hash lookup,
  /// then a look at the namespaces that have consumer routes there; empty when none apply.
  std::span<const Route* const> routes_for(const Service& service, uint16_t port,
                                           std::string_view client_ns) const;
  const HttpRoute* http_route_by_name(std::string_view ns, std::string_view name) const;
  const GrpcRoute* grpc_route_by_name(std::string_view ns, std::string_view name) const;

  std::span<const Service> services() const { return services_; }
  std::span<const PodInfo> pods() const { return pods_; }
  std::span<const MeshPolicy> policies() const { return policies_; }
  std::span<const HttpRoute> http_routes() const { return http_routes_; }
  std::span<const GrpcRoute> grpc_routes() const { return grpc_routes_; }
  std::size_t service_count() const { return services_.size(); }
  std::size_t pod_count() const { return pods_.size(); }
  std::size_t policy_count() const { return policies_.size(); }
  std::size_t route_count() const { return http_routes_.size() + grpc_routes_.size(); }
  /// Ready endpoints summed over every Service port and IP family.
  std::size_t endpoint_count() const;
  /// Duplicates and conflicts found while building, route references that lead nowhere
  /// (a parent or backend Service that does not exist, a missing port) and HTTPRoutes ignored at
  /// a Service port where a GRPCRoute wins (see routes_for()), one sentence each.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  World() = default;
  void populate(std::vector<Object> objects);
  /// Indexes routes by the Service ports they attach to and warns about dangling references;
  /// needs services_, http_routes_ and grpc_routes_ final.
  void attach_routes();
  /// The Gateway API's mesh profile (GEP-1426, "Route types") lets only one type of route apply
  /// where several bind to one Service port, the first of GRPCRoute, HTTPRoute, TLSRoute,
  /// TCPRoute (weft reads the first two): in every group of routes_by_port_ (producer, each
  /// consumer namespace) that holds a GRPCRoute, drops the HTTPRoutes and warns about each.
  /// Decided here once per World, so that requests never meet an ignored route.
  void keep_one_route_type();

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  /// namespace -> name -> index
  using NameIndex = StringMap<StringMap<std::size_t>>;

  struct PortEntry {
    const Service* service;
    const ServicePort* port;
    std::size_t endpoint_set;
  };

  static const std::size_t* find(const NameIndex& index, std::string_view ns,
                                 std::string_view name);

  // The steps of populate().
  /// Files each object under its kind (the first of a kind, namespace and name wins, the others
  /// are warned about) and returns the EndpointSlices, which only the build reads.
  std::vector<EndpointSlice> take_objects(std::vector<Object> objects);
  /// Enters `name` in `index` as `next`; false, with a warning, if it is there already.
  bool claim_name(NameIndex& index, std::string_view kind, const std::string& ns,
                  const std::string& name, std::size_t next);
  /// Indexes `ip` as pod `pod`'s; the first claim wins, a second pod's is warned about.
  void claim_ip(const IpAddr& ip, std::size_t pod);
  /// Per slice, per endpoint: the pod (index into pods_) its targetRef names, if any.
  using SlicePods = std::vector<std::vector<std::optional<std::size_t>>>;
  /// The pods the endpoints of `slices` name; a pod with no Pod object gets one synthesized,
  /// so its traffic is labelled with its name and namespace.
  SlicePods pods_of_endpoints(const std::vector<EndpointSlice>& slices);
  /// The pod an endpoint's targetRef names (synthesized if unknown), given its addresses.
  std::size_t adopt_endpoint(const SliceEndpoint& ep);
  /// Endpoint sets and ClusterIP:port entries of every TCP Service port; needs pods_ final.
  void index_service_ports(const std::vector<EndpointSlice>& slices,
                           const SlicePods& endpoint_pods);
  /// The ready endpoints of family `family` that the slices `of_service` give `port`, sorted by
  /// address, each once.
  std::vector<Endpoint> ready_endpoints(const std::vector<EndpointSlice>& slices,
                                        const SlicePods& endpoint_pods,
                                        const std::vector<std::size_t>& of_service,
                                        const ServicePort& port, sa_family_t family) const;
  Endpoint endpoint_at(const SliceEndpoint& ep, const SockAddr& addr,
                       std::optional<std::size_t> pod_index) const;
  /// Records `port`'s appProtocol for each endpoint of `set` (disagreements unset it).
  void note_app_protocol(const std::vector<Endpoint>& set, const ServicePort& port);
  /// Indexes svc's ClusterIPs of `family` at `port` to endpoint set `set_index`.
  void claim_cluster_ips(const Service& svc, const ServicePort& port, sa_family_t family,
                         std::size_t set_index);
  /// Attaches `route` to the Service ports its parentRefs name, warning about those that
  /// attach nowhere.
  void attach_route(const Route& route);
  /// Attaches `route` to the ports of services_[service] that `parent` selects; false if none.
  bool attach_at_ports(const Route& route, const ParentRef& parent, std::size_t service);
  /// Warns about backendRefs of `route` that lead nowhere.
  template <class R>
  void check_backends(const R& route);
  /// Sorts every group of routes_by_port_ by route_precedes().
  void order_by_precedence();

  std::vector<Service> services_;
  std::vector<PodInfo> pods_;
  std::vector<std::vector<Endpoint>> endpoint_sets_;
  std::vector<PortEntry> entries_;
  std::unordered_map<SockAddr, std::size_t> by_service_addr_;  ///< -> entries_
  std::unordered_map<IpAddr, std::size_t> by_ip_;              ///< -> pods_
  /// Endpoint -> the appProtocol its Service ports declare (into services_); `agreed` false
  /// when two of them differ.
  struct DeclaredProtocol {
    std::string_view app_protocol;
    bool agreed = true;
  };
  std::unordered_map<SockAddr, DeclaredProtocol> app_protocol_by_endpoint_;
  NameIndex pods_by_name_;
  NameIndex services_by_name_;
  std::vector<MeshPolicy> policies_;
  NameIndex policies_by_name_;
  StringMap<std::vector<const MeshPolicy*>> policies_by_ns_;  ///< -> into policies_
  std::vector<HttpRoute> http_routes_;
  std::vector<GrpcRoute> grpc_routes_;
  NameIndex http_routes_by_name_;
  NameIndex grpc_routes_by_name_;
  /// The routes attached to one Service port, by whom they apply to.
  struct PortRoutes {
    std::vector<const Route*> producer;
    /// Per namespace other than the Service's, its consumer routes (few: a linear search).
    std::vector<std::pair<std::string, std::vector<const Route*>>> consumers;
    /// The consumer routes of namespace `ns` (added, empty, when it has none yet).
    std::vector<const Route*>& consumer(const std::string& ns);
  };
  /// (index into services_) << 16 | Service port -> the routes attached there
  std::unordered_map<uint64_t, PortRoutes> routes_by_port_;
  std::vector<std::string> warnings_;
};

}  // namespace weft::discovery
