#include "agent/discovery/World.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <string>

#include "agent/discovery/ManifestDecoder.hpp"

namespace weft::discovery {
namespace {

std::shared_ptr<const World> world_of(std::string_view yaml) {
  auto decoded = decode_manifests("world.yaml", yaml);
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? std::string() : decoded.error().message));
  return World::build(std::move(decoded->objects));
}

SockAddr addr(std::string_view ip, uint16_t port) {
  return SockAddr{*IpAddr::parse(ip), port};
}

std::vector<std::string> endpoint_strings(const Resolution& r) {
  std::vector<std::string> out;
  for (const Endpoint& ep : r.endpoints) {
    out.push_back(ep.addr.str());
  }
  return out;
}

constexpr std::string_view kShop = R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20, "fd00:96::20"]
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: admin, port: 9000, targetPort: 9001}
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.244.0.12]
  targetRef: {kind: Pod, name: web-7d4b9-b}
  nodeName: node-b
- addresses: [10.244.0.11]
  targetRef: {kind: Pod, name: web-7d4b9-a}
- addresses: [10.244.0.13]
  conditions: {ready: false}
  targetRef: {kind: Pod, name: web-7d4b9-c}
ports:
- {name: http, port: 8080}
- {name: admin, port: 9001}
- {name: dns, port: 53, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-2
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.244.1.20]
- addresses: [10.244.0.11]
  targetRef: {kind: Pod, name: web-7d4b9-a}
ports:
- {name: http, port: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-v6
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv6
endpoints:
- addresses: ["fd00:244::11"]
  targetRef: {kind: Pod, name: web-7d4b9-a}
ports:
- {name: http, port: 8080}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9-a
  namespace: shop
  labels: {pod-template-hash: 7d4b9}
  ownerReferences: [{kind: ReplicaSet, name: web-7d4b9, controller: true}]
spec: {serviceAccountName: web, nodeName: node-a}
status: {podIP: 10.244.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop}
status: {podIP: 10.244.0.50}
)";

TEST_CASE("resolve maps a ClusterIP:port to the Service's ready endpoints") {
  auto world = world_of(kShop);
  CHECK(world->service_count() == 1);
  Resolution r = world->resolve(addr("10.96.0.20", 80));
  REQUIRE(r.kind == Resolution::Kind::Service);
  REQUIRE(r.service != nullptr);
  CHECK(r.service->name == "web");
  CHECK(r.service->fqdn() == "web.shop.svc.cluster.local");
  REQUIRE(r.port != nullptr);
  CHECK(r.port->name == "http");
  // Two slices merged, 10.244.0.11 deduplicated, the unready 10.244.0.13 left out, sorted.
  CHECK(endpoint_strings(r) ==
        std::vector<std::string>{"10.244.0.11:8080", "10.244.0.12:8080", "10.244.1.20:8080"});
  CHECK(r.pod == nullptr);
}

TEST_CASE("resolve matches slice ports to Service ports by name") {
  auto world = world_of(kShop);
  Resolution r = world->resolve(addr("10.96.0.20", 9000));
  REQUIRE(r.kind == Resolution::Kind::Service);
  CHECK(r.port->name == "admin");
  CHECK(endpoint_strings(r) == std::vector<std::string>{"10.244.0.11:9001", "10.244.0.12:9001"});
}

TEST_CASE("resolve serves a ClusterIP with endpoints of its own family") {
  auto world = world_of(kShop);
  Resolution r = world->resolve(addr("fd00:96::20", 80));
  REQUIRE(r.kind == Resolution::Kind::Service);
  CHECK(endpoint_strings(r) == std::vector<std::string>{"[fd00:244::11]:8080"});
  REQUIRE(r.endpoints[0].pod != nullptr);
  CHECK(r.endpoints[0].pod->name == "web-7d4b9-a");
}

TEST_CASE("endpoint_app_protocol: what the Service ports of an endpoint declare, if they agree") {
  auto world = world_of(R"(
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.0.30
  ports:
  - {name: grpc, port: 9090, appProtocol: grpc}
  - {name: db, port: 5432, appProtocol: postgresql}
  - {name: plain, port: 81}
---
apiVersion: v1
kind: Service
metadata: {name: api-alias, namespace: shop}
spec:
  clusterIP: 10.96.0.31
  ports:
  - {name: grpc, port: 9090, appProtocol: grpc}
  - {name: db, port: 5432, appProtocol: tcp}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: shop, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
endpoints:
- addresses: [10.244.0.40]
ports:
- {name: grpc, port: 9090}
- {name: db, port: 5432}
- {name: plain, port: 8081}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-alias-1, namespace: shop, labels: {kubernetes.io/service-name: api-alias}}
addressType: IPv4
endpoints:
- addresses: [10.244.0.40]
ports:
- {name: grpc, port: 9090}
- {name: db, port: 5432}
)");
  CHECK(world->endpoint_app_protocol(addr("10.244.0.40", 9090)) == "grpc");  // both say grpc
  CHECK(world->endpoint_app_protocol(addr("10.244.0.40", 5432)).empty());    // they disagree
  CHECK(world->endpoint_app_protocol(addr("10.244.0.40", 8081)).empty());    // none declared
  CHECK(world->endpoint_app_protocol(addr("10.244.0.41", 9090)).empty());    // not an endpoint
  CHECK(world->endpoint_app_protocol(addr("::ffff:10.244.0.40", 9090)) == "grpc");
}

TEST_CASE("endpoints carry the pod behind them") {
  auto world = world_of(kShop);
  Resolution r = world->resolve(addr("10.96.0.20", 80));
  REQUIRE(r.endpoints.size() == 3);
  const Endpoint& a = r.endpoints[0];
  REQUIRE(a.pod != nullptr);
  CHECK(a.pod_name == "web-7d4b9-a");
  CHECK(a.pod_namespace == "shop");
  CHECK(a.pod->workload == "web");
  CHECK(a.pod->service_account == "web");
  CHECK(a.node_name == "node-a");  // from the Pod when the slice does not say
  CHECK_FALSE(a.pod->synthesized);
  // No Pod object for web-7d4b9-b: known from the targetRef only.
  const Endpoint& b = r.endpoints[1];
  REQUIRE(b.pod != nullptr);
  CHECK(b.pod->synthesized);
  CHECK(b.pod->name == "web-7d4b9-b");
  CHECK(b.pod->service_account == "default");
  CHECK(b.node_name == "node-b");
  // No targetRef and no pod with that IP.
  const Endpoint& c = r.endpoints[2];
  CHECK(c.pod == nullptr);
  CHECK(c.pod_name.empty());
}

TEST_CASE("resolve maps pod IPs to pods and everything else to passthrough") {
  auto world = world_of(kShop);
  struct Case {
    SockAddr dst;
    Resolution::Kind kind;
    const char* pod;
  };
  const Case cases[] = {
      {addr("10.244.0.50", 8080), Resolution::Kind::Pod, "client"},
      {addr("10.244.0.11", 1), Resolution::Kind::Pod, "web-7d4b9-a"},
      {addr("10.244.0.12", 8080), Resolution::Kind::Pod, "web-7d4b9-b"},   // via targetRef
      {addr("fd00:244::11", 8080), Resolution::Kind::Pod, "web-7d4b9-a"},  // IPv6 via targetRef
      {addr("::ffff:10.244.0.50", 80), Resolution::Kind::Pod, "client"},   // v4-mapped
      {addr("10.244.1.20", 8080), Resolution::Kind::Passthrough, nullptr},
      {addr("10.96.0.20", 81), Resolution::Kind::Passthrough, nullptr},
      {addr("10.96.0.20", 53), Resolution::Kind::Passthrough, nullptr},  // UDP port
      {addr("1.1.1.1", 443), Resolution::Kind::Passthrough, nullptr},
  };
  for (const Case& c : cases) {
    INFO(c.dst.str());
    Resolution r = world->resolve(c.dst);
    CHECK(r.kind == c.kind);
    CHECK(r.service == nullptr);
    CHECK(r.endpoints.empty());
    if (c.pod != nullptr) {
      REQUIRE(r.pod != nullptr);
      CHECK(r.pod->name == c.pod);
    } else {
      CHECK(r.pod == nullptr);
    }
  }
  CHECK(world->resolve(addr("::ffff:10.96.0.20", 80)).kind == Resolution::Kind::Service);
}

TEST_CASE("pod lookups by name and IP") {
  auto world = world_of(kShop);
  const PodInfo* a = world->pod_by_name("shop", "web-7d4b9-a");
  REQUIRE(a != nullptr);
  CHECK(a->ips ==
        std::vector<IpAddr>{*IpAddr::parse("10.244.0.11"), *IpAddr::parse("fd00:244::11")});
  CHECK(world->pod_by_ip(*IpAddr::parse("fd00:244::11")) == a);
  CHECK(world->pod_by_name("default", "web-7d4b9-a") == nullptr);
  CHECK(world->pod_by_name("shop", "nope") == nullptr);
  CHECK(world->pod_by_ip(*IpAddr::parse("10.244.0.13"))->name == "web-7d4b9-c");
  CHECK(world->service_by_name("shop", "web") != nullptr);
  CHECK(world->service_by_name("shop", "db") == nullptr);
  CHECK(world->pod_count() == 4);  // 2 Pod objects + 2 known from targetRefs only
  CHECK(world->warnings().empty());
}

TEST_CASE("a Service without endpoints resolves with none; unnamed ports match unnamed") {
  auto world = world_of(R"(
apiVersion: v1
kind: Service
metadata: {name: empty}
spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: single}
spec: {clusterIP: 10.96.0.2, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: single-x, labels: {kubernetes.io/service-name: single}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.1, 10.1.0.2]}]
ports: [{port: 8080}, {name: other, port: 1}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: orphan}
addressType: IPv4
endpoints: [{addresses: [10.1.0.9]}]
ports: [{port: 8080}]
)");
  Resolution empty = world->resolve(addr("10.96.0.1", 80));
  CHECK(empty.kind == Resolution::Kind::Service);
  CHECK(empty.endpoints.empty());
  Resolution single = world->resolve(addr("10.96.0.2", 80));
  CHECK(endpoint_strings(single) == std::vector<std::string>{"10.1.0.1:8080", "10.1.0.2:8080"});
  CHECK(world->endpoint_count() == 2);
}

TEST_CASE("duplicates and address conflicts keep the first object and warn") {
  auto world = world_of(R"(
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: q}
status: {podIP: 10.1.0.1}
)");
  CHECK(world->service_count() == 2);
  CHECK(world->resolve(addr("10.96.0.1", 80)).service->name == "a");
  CHECK(world->resolve(addr("10.96.0.9", 80)).kind == Resolution::Kind::Passthrough);
  CHECK(world->pod_by_ip(*IpAddr::parse("10.1.0.1"))->name == "p");
  CHECK(world->warnings() ==
        std::vector<std::string>{
            "duplicate Service default/a: the first one is used",
            "IP 10.1.0.1 claimed by pod default/p and pod default/q: the first is used",
            "10.96.0.1:80 claimed by Service default/a and Service default/b: the first is used",
        });
}

TEST_CASE("an empty World resolves everything as passthrough") {
  auto world = World::empty();
  CHECK(world->service_count() == 0);
  CHECK(world->resolve(addr("10.0.0.1", 80)).kind == Resolution::Kind::Passthrough);
  CHECK(world->pod_by_ip(*IpAddr::parse("10.0.0.1")) == nullptr);
}

constexpr std::string_view kPolicies = R"(
apiVersion: v1
kind: Pod
metadata: {name: echo-1, namespace: demo, labels: {app: echo, version: v1}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: demo, labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: echo-1, namespace: prod, labels: {app: echo, version: v1}}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: demo}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: echo-only, namespace: demo}
spec: {selector: {matchLabels: {app: echo}}, mode: STRICT}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: whole-namespace, namespace: demo}
spec: {}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: echo-v2, namespace: demo}
spec: {selector: {matchLabels: {app: echo, version: v2}}}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: prod-echo, namespace: prod}
spec: {selector: {matchLabels: {app: echo}}, allow: {namespaces: [prod]}}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: echo-only, namespace: demo}
spec: {mode: PERMISSIVE}
)";

std::vector<std::string> names(const std::vector<const MeshPolicy*>& policies) {
  std::vector<std::string> out;
  for (const MeshPolicy* p : policies) {
    out.push_back(p->ns + "/" + p->name);
  }
  return out;
}

TEST_CASE("policies_for selects by namespace and every matchLabels pair, in load order") {
  auto world = world_of(kPolicies);
  CHECK(world->policy_count() == 4);
  CHECK(world->policies().size() == 4);
  CHECK(names(world->policies_for(*world->pod_by_name("demo", "echo-1"))) ==
        std::vector<std::string>{"demo/echo-only", "demo/whole-namespace"});
  CHECK(names(world->policies_for(*world->pod_by_name("demo", "web-1"))) ==
        std::vector<std::string>{"demo/whole-namespace"});
  CHECK(names(world->policies_for(*world->pod_by_name("demo", "bare"))) ==
        std::vector<std::string>{"demo/whole-namespace"});
  // Same labels in another namespace: only that namespace's policies apply.
  CHECK(names(world->policies_for(*world->pod_by_name("prod", "echo-1"))) ==
        std::vector<std::string>{"prod/prod-echo"});
  CHECK(world->policies_in("demo").size() == 3);
  CHECK(world->policies_in("prod").size() == 1);
  CHECK(world->policies_in("nowhere").empty());
  PodInfo stranger;
  stranger.ns = "nowhere";
  stranger.labels = {{"app", "echo"}};
  CHECK(world->policies_for(stranger).empty());
}

TEST_CASE("a duplicate MeshPolicy keeps the first one and warns") {
  auto world = world_of(kPolicies);
  const MeshPolicy* first = world->policy_by_name("demo", "echo-only");
  REQUIRE(first != nullptr);
  CHECK(first->mode == MeshPolicy::Mode::Strict);
  CHECK(world->policy_by_name("demo", "missing") == nullptr);
  CHECK(world->policy_by_name("prod", "echo-only") == nullptr);
  CHECK(world->warnings() ==
        std::vector<std::string>{"duplicate MeshPolicy demo/echo-only: the first one is used"});
}

TEST_CASE("MeshPolicy::selects needs every matchLabels pair with the same value") {
  MeshPolicy policy;
  CHECK(policy.selects({}));
  CHECK(policy.selects({{"app", "echo"}}));
  policy.match_labels = {{"app", "echo"}, {"version", "v1"}};
  CHECK(policy.selects({{"app", "echo"}, {"version", "v1"}, {"extra", "x"}}));
  CHECK_FALSE(policy.selects({{"app", "echo"}}));
  CHECK_FALSE(policy.selects({{"app", "echo"}, {"version", "v2"}}));
  CHECK_FALSE(policy.selects({{"app", "Echo"}, {"version", "v1"}}));
  CHECK_FALSE(policy.selects({}));
}

TEST_CASE("an empty World has no policies") {
  auto world = World::empty();
  CHECK(world->policies().empty());
  CHECK(world->policies_in("default").empty());
}

// ---- Gateway API routes ----

constexpr std::string_view kRouted = R"(
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: http, port: 80}, {name: grpc, port: 9090}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: echo-v2, namespace: demo}
spec: {clusterIP: 10.96.0.31, ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: every-port, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{backendRefs: [{name: echo-v2, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: port-80, namespace: demo}
spec:
  parentRefs: [{group: core, kind: Service, name: echo, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc-section, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, sectionName: grpc}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: both, namespace: demo}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo, port: 9090, sectionName: grpc}
  - {group: "", kind: Service, name: echo, sectionName: grpc}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: from-client-ns, namespace: client}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, namespace: demo, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gateway-parent, namespace: demo}
spec:
  parentRefs: [{name: echo}, {kind: Gateway, name: edge}, {group: "", kind: Pod, name: echo}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other-service, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo-v2}]
)";

std::vector<std::string> route_names(std::span<const Route* const> routes) {
  std::vector<std::string> out;
  for (const Route* route : routes) {
    out.push_back(fmt::format("{} {}/{}", route->kind_name(), route->ns, route->name));
  }
  return out;
}

TEST_CASE("routes attach to the Service ports their parentRefs name") {
  auto world = world_of(kRouted);
  CHECK(world->route_count() == 7);
  CHECK(world->http_routes().size() == 6);
  CHECK(world->grpc_routes().size() == 1);
  const Service* echo = world->service_by_name("demo", "echo");
  REQUIRE(echo != nullptr);
  // No creationTimestamps: "{namespace}/{name}" order.
  CHECK(route_names(world->routes_for(*echo, 80, "demo")) ==
        std::vector<std::string>{"HTTPRoute demo/every-port", "HTTPRoute demo/port-80"});
  // At 9090 the GRPCRoute wins over the HTTPRoutes (GEP-1426), "both" (which names port 9090
  // twice) included: see warnings() below.
  CHECK(route_names(world->routes_for(*echo, 9090, "demo")) ==
        std::vector<std::string>{"GRPCRoute demo/grpc-section"});
  CHECK(route_names(world->routes_for(*echo, 53, "demo")) ==
        std::vector<std::string>{"HTTPRoute demo/every-port"});
  CHECK(world->routes_for(*echo, 81, "demo").empty());
  const Service* v2 = world->service_by_name("demo", "echo-v2");
  CHECK(route_names(world->routes_for(*v2, 8080, "demo")) ==
        std::vector<std::string>{"HTTPRoute demo/other-service"});
  // The consumer route of namespace client applies to its clients only, in place of demo's.
  CHECK(route_names(world->routes_for(*echo, 80, "client")) ==
        std::vector<std::string>{"HTTPRoute client/from-client-ns"});
  CHECK(route_names(world->routes_for(*echo, 9090, "client")) ==
        std::vector<std::string>{"GRPCRoute demo/grpc-section"});
  CHECK(route_names(world->routes_for(*echo, 80, "elsewhere")) ==
        std::vector<std::string>{"HTTPRoute demo/every-port", "HTTPRoute demo/port-80"});
  // Gateway and Pod parents attach nowhere, without a warning: they are not the mesh's. "both"
  // is ignored once although it names port 9090 twice.
  CHECK(world->warnings() ==
        std::vector<std::string>{
            "HTTPRoute demo/both ignored at Service demo/echo port 9090: GRPCRoute "
            "demo/grpc-section attaches there (Gateway API GEP-1426: GRPCRoute wins over "
            "HTTPRoute)",
            "HTTPRoute demo/every-port ignored at Service demo/echo port 9090: GRPCRoute "
            "demo/grpc-section attaches there (Gateway API GEP-1426: GRPCRoute wins over "
            "HTTPRoute)",
        });
  CHECK(world->http_route_by_name("demo", "port-80")->parents.at(0).port ==
        std::optional<uint16_t>(80));
  CHECK(world->grpc_route_by_name("demo", "grpc-section") != nullptr);
  CHECK(world->grpc_route_by_name("demo", "port-80") == nullptr);
  CHECK(world->http_route_by_name("nope", "port-80") == nullptr);
}

TEST_CASE("routes_for finds a Service that is not the World's own object by name") {
  auto world = world_of(kRouted);
  Service copy = *world->service_by_name("demo", "echo");
  CHECK(world->routes_for(copy, 80, "demo").size() == 2);
  CHECK(world->routes_for(copy, 80, "client").size() == 1);
  Service stranger;
  stranger.name = "echo";
  stranger.ns = "elsewhere";
  CHECK(world->routes_for(stranger, 80, "elsewhere").empty());
  CHECK(World::empty()->routes_for(copy, 80, "demo").empty());
}

TEST_CASE("routes_for orders routes oldest first, then by namespace/name") {
  auto world = world_of(R"(
apiVersion: v1
kind: Service
metadata: {name: echo}
spec: {clusterIP: 10.96.0.40, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: z-old, creationTimestamp: "2023-01-01T00:00:00Z"}
spec: {parentRefs: [{group: "", kind: Service, name: echo}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-new, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {parentRefs: [{group: "", kind: Service, name: echo}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: m-older, creationTimestamp: "2022-06-01T00:00:00+00:00"}
spec: {parentRefs: [{group: "", kind: Service, name: echo, namespace: default}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-no-timestamp}
spec: {parentRefs: [{group: "", kind: Service, name: echo}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-no-timestamp}
spec: {parentRefs: [{group: "", kind: Service, name: echo, namespace: default}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: c-no-timestamp, namespace: a}
spec: {parentRefs: [{group: "", kind: Service, name: echo, namespace: default}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-old, namespace: a, creationTimestamp: "2021-01-01T00:00:00Z"}
spec: {parentRefs: [{group: "", kind: Service, name: echo, namespace: default}]}
)");
  const Service* echo = world->service_by_name("default", "echo");
  CHECK(route_names(world->routes_for(*echo, 80, "default")) ==
        std::vector<std::string>{"HTTPRoute default/m-older", "HTTPRoute default/z-old",
                                 "HTTPRoute default/a-new", "HTTPRoute default/a-no-timestamp",
                                 "HTTPRoute default/b-no-timestamp"});
  // Consumer routes are ordered by the same rule among themselves.
  CHECK(route_names(world->routes_for(*echo, 80, "a")) ==
        std::vector<std::string>{"HTTPRoute a/b-old", "HTTPRoute a/c-no-timestamp"});
}

TEST_CASE("a GRPCRoute hides the HTTPRoutes of its group at its port, and nowhere else") {
  auto world = world_of(R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {clusterIP: 10.96.0.45, ports: [{name: http, port: 80}, {name: grpc, port: 9090}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-http, namespace: demo}
spec: {parentRefs: [{group: "", kind: Service, name: web}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: web-grpc-new, namespace: demo, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {parentRefs: [{group: "", kind: Service, name: web, port: 9090}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: web-grpc-old, namespace: demo, creationTimestamp: "2023-01-01T00:00:00Z"}
spec: {parentRefs: [{group: "", kind: Service, name: web, port: 9090}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-http, namespace: team-a}
spec: {parentRefs: [{group: "", kind: Service, name: web, namespace: demo}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: a-grpc, namespace: team-a}
spec: {parentRefs: [{group: "", kind: Service, name: web, namespace: demo, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-http, namespace: team-b}
spec: {parentRefs: [{group: "", kind: Service, name: web, namespace: demo}]}
)");
  const Service* web = world->service_by_name("demo", "web");
  REQUIRE(web != nullptr);
  using Names = std::vector<std::string>;
  // Producer group: HTTPRoutes at 80, where no producer GRPCRoute attaches (team-a's does, for
  // team-a only); the GRPCRoutes alone at 9090.
  CHECK(route_names(world->routes_for(*web, 80, "demo")) == Names{"HTTPRoute demo/web-http"});
  CHECK(route_names(world->routes_for(*web, 9090, "demo")) ==
        Names{"GRPCRoute demo/web-grpc-old", "GRPCRoute demo/web-grpc-new"});
  CHECK(route_names(world->routes_for(*web, 9090, "elsewhere")) ==
        Names{"GRPCRoute demo/web-grpc-old", "GRPCRoute demo/web-grpc-new"});
  // team-a: its GRPCRoute hides its HTTPRoute at 80 only; at 9090 it keeps its HTTPRoute,
  // whatever the producer routes there are.
  CHECK(route_names(world->routes_for(*web, 80, "team-a")) == Names{"GRPCRoute team-a/a-grpc"});
  CHECK(route_names(world->routes_for(*web, 9090, "team-a")) == Names{"HTTPRoute team-a/a-http"});
  // team-b has only an HTTPRoute: neither team-a's GRPCRoute nor the producer's hides it.
  CHECK(route_names(world->routes_for(*web, 80, "team-b")) == Names{"HTTPRoute team-b/b-http"});
  CHECK(route_names(world->routes_for(*web, 9090, "team-b")) == Names{"HTTPRoute team-b/b-http"});
  // One warning per ignored HTTPRoute and port, naming the first GRPCRoute in route_precedes()
  // order; the ignored routes stay objects of the World.
  CHECK(world->warnings() ==
        Names{
            "HTTPRoute team-a/a-http ignored at Service demo/web port 80: GRPCRoute team-a/a-grpc "
            "attaches there (Gateway API GEP-1426: GRPCRoute wins over HTTPRoute)",
            "HTTPRoute demo/web-http ignored at Service demo/web port 9090: GRPCRoute "
            "demo/web-grpc-old attaches there (Gateway API GEP-1426: GRPCRoute wins over "
            "HTTPRoute)",
        });
  CHECK(world->route_count() == 6);
  CHECK(world->http_route_by_name("team-a", "a-http") != nullptr);
}

TEST_CASE("route_precedes: older first, a route without timestamp last, then namespace/name") {
  HttpRoute a;
  a.ns = "demo";
  a.name = "a";
  GrpcRoute b;
  b.ns = "demo";
  b.name = "b";
  CHECK(route_precedes(a, b));
  CHECK_FALSE(route_precedes(b, a));
  CHECK_FALSE(route_precedes(a, a));
  b.created = std::chrono::sys_seconds(std::chrono::seconds(100));
  CHECK(route_precedes(b, a));
  a.created = std::chrono::sys_seconds(std::chrono::seconds(50));
  CHECK(route_precedes(a, b));
  b.created = a.created;
  CHECK(route_precedes(a, b));
  a.ns = "demo-x";  // "demo-x/a" < "demo/b"
  CHECK(route_precedes(a, b));
  a.ns = "demo";
  a.name = "b";
  CHECK_FALSE(route_precedes(a, b));
  CHECK_FALSE(route_precedes(b, a));
  b.name = "bb";
  CHECK(route_precedes(a, b));
}

TEST_CASE("routes that lead nowhere stay and are listed in warnings") {
  auto world = world_of(R"(
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: canary, namespace: demo}
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo}
  - {group: "", kind: Service, name: missing}
  - {group: "", kind: Service, name: echo, port: 81}
  - {group: "", kind: Service, name: echo, port: 80, sectionName: grpc}
  - {kind: Service, name: echo}
  rules:
  - backendRefs:
    - {name: echo, port: 80, weight: 90}
    - {name: echo-v2, port: 80, weight: 10}
  - backendRefs:
    - {name: echo, port: 8080}
    - {group: example.com, kind: Bucket, name: b}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: demo}
spec:
  rules: [{backendRefs: [{name: gone, namespace: other, port: 9090}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: demo}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: g, namespace: demo}
)");
  CHECK(world->warnings() ==
        std::vector<std::string>{
            "duplicate GRPCRoute demo/g: the first one is used",
            "HTTPRoute demo/canary: parent Service demo/missing does not exist",
            "HTTPRoute demo/canary: parent Service demo/echo has no port 81",
            "HTTPRoute demo/canary: parent Service demo/echo has no port 80 and port named "
            "\"grpc\"",
            "HTTPRoute demo/canary: parentRef to Service demo/echo has group "
            "\"gateway.networking.k8s.io\" and attaches nowhere (a core Service needs group: "
            "\"\")",
            "HTTPRoute demo/canary rules[0].backendRefs[1]: Service demo/echo-v2 does not exist; "
            "requests sent to it find no endpoints",
            "HTTPRoute demo/canary rules[1].backendRefs[0]: Service demo/echo has no port 8080; "
            "requests sent to it find no endpoints",
            "HTTPRoute demo/canary rules[1].backendRefs[1]: backend kind Bucket (group "
            "\"example.com\") is not supported; requests sent to it fail",
            "GRPCRoute demo/g rules[0].backendRefs[0]: Service other/gone does not exist; "
            "requests sent to it find no endpoints",
        });
  // The route still attaches through its valid parentRef, with every rule and backend.
  const Service* echo = world->service_by_name("demo", "echo");
  auto routes = world->routes_for(*echo, 80, "demo");
  REQUIRE(routes.size() == 1);
  const auto* canary = static_cast<const HttpRoute*>(routes[0]);
  CHECK(canary->rules.at(0).backends.size() == 2);
  CHECK(world->route_count() == 3);  // HTTPRoute g is another kind: no conflict
  CHECK(world->grpc_route_by_name("demo", "g")->rules.size() == 1);
}

}  // namespace
}  // namespace weft::discovery
