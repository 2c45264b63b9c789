#include "agent/plan/FlowPlan.hpp"

#include <doctest/doctest.h>

#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/redirect/MeshAbi.hpp"

namespace weft::proxy {
namespace {

using agent::MeshedPod;
using agent::WorkloadIdentity;

/// This node is node-a. Meshed here: client (dual-stack), cart-0, intruder, plus two pods the
/// registration knows but discovery does not (orphan, and one the runtime gave no name). Elsewhere:
/// web-a (meshed by node-b's agent), web-b (not meshed), legacy (annotation set, but "disabled").
/// Services: web (web-a, web-b ready, one endpoint not ready), cart (cart-0), idle (none ready).
constexpr std::string_view kCluster = R"(
apiVersion: v1
kind: Pod
metadata:
  name: client-5f6d8-x2k
  namespace: shop
  labels: {app: client, pod-template-hash: 5f6d8}
  annotations: {weft.io/redirection: enabled}
  ownerReferences: [{kind: ReplicaSet, name: client-5f6d8, controller: true}]
spec: {serviceAccountName: client, nodeName: node-a}
status: {podIP: 10.244.0.50, podIPs: [{ip: 10.244.0.50}, {ip: "fd00:244::50"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: cart-0
  namespace: shop
  labels: {app: cart}
  annotations: {weft.io/redirection: enabled}
  ownerReferences: [{kind: StatefulSet, name: cart, controller: true}]
spec: {serviceAccountName: cart, nodeName: node-a}
status: {podIP: 10.244.0.60}
---
apiVersion: v1
kind: Pod
metadata:
  name: intruder
  namespace: shop
  labels: {app: intruder}
  annotations: {weft.io/redirection: enabled}
spec: {serviceAccountName: intruder, nodeName: node-a}
status: {podIP: 10.244.0.70}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-a
  namespace: shop
  labels: {app: web}
  annotations: {weft.io/redirection: enabled}
spec: {serviceAccountName: web, nodeName: node-b}
status: {podIP: 10.244.1.11}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, namespace: shop, labels: {app: web}}
spec: {serviceAccountName: web, nodeName: node-c}
status: {podIP: 10.244.1.12}
---
apiVersion: v1
kind: Pod
metadata:
  name: legacy
  namespace: shop
  annotations: {weft.io/redirection: disabled}
spec: {serviceAccountName: legacy, nodeName: node-b}
status: {podIP: 10.244.1.13}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.244.1.11]
  targetRef: {kind: Pod, name: web-a}
- addresses: [10.244.1.12]
  targetRef: {kind: Pod, name: web-b}
- addresses: [10.244.1.14]
  conditions: {ready: false}
ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cart-1, namespace: shop, labels: {kubernetes.io/service-name: cart}}
addressType: IPv4
endpoints:
- addresses: [10.244.0.60]
  targetRef: {kind: Pod, name: cart-0}
ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: idle, namespace: shop}
spec:
  clusterIP: 10.96.0.40
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: idle-1, namespace: shop, labels: {kubernetes.io/service-name: idle}}
addressType: IPv4
endpoints:
- addresses: [10.244.1.15]
  conditions: {ready: false}
ports: [{name: http, port: 8080}]
)";

std::string spiffe(std::string_view service_account) {
  return "spiffe://cluster.local/ns/shop/sa/" + std::string(service_account);
}

const WorkloadIdentity kClient{"client", "shop", spiffe("client")};
const WorkloadIdentity kCart{"cart", "shop", spiffe("cart")};
const WorkloadIdentity kWebA{"web-a", "shop", spiffe("web")};
const WorkloadIdentity kWebB{"web-b", "shop", spiffe("web")};
const WorkloadIdentity kOrphan{"orphan", "shop", spiffe("default")};

/// One line per identity, so that a failed CHECK prints both sides whole.
std::string who(const WorkloadIdentity& id) {
  return id.workload + " " + id.ns + " " + id.principal;
}

SockAddr addr(std::string_view text) {
  auto a = SockAddr::parse(text);
  REQUIRE_MESSAGE(a.has_value(), text);
  return *a;
}

IpAddr ip(std::string_view text) {
  auto a = IpAddr::parse(text);
  REQUIRE_MESSAGE(a.has_value(), text);
  return *a;
}

std::shared_ptr<const discovery::World> world_of(std::string_view policies) {
  std::string text = std::string(kCluster) + "---\n" + std::string(policies);
  auto decoded = discovery::decode_manifests("cluster.yaml", text);
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? std::string() : decoded.error().message));
  auto world = discovery::World::build(std::move(decoded->objects));
  REQUIRE(world->warnings().empty());
  return world;
}

/// A pod as the agent holds it once meshed. Planning never enters the namespace, so the test's
/// own (opening it needs no privilege) stands in for the pod's.
std::shared_ptr<const MeshedPod> meshed(uint32_t id, std::string_view name,
                                        std::initializer_list<std::string_view> ips) {
  auto netns = Netns::current();
  REQUIRE_MESSAGE(netns.has_value(), (netns ? std::string() : netns.error().message));
  PodRegistration registration;
  registration.container_id = "container-" + std::to_string(id);
  registration.pod_name = name;
  registration.pod_namespace = name.empty() ? "" : "shop";
  std::vector<IpAddr> addresses;
  for (std::string_view text : ips) {
    addresses.push_back(ip(text));
  }
  return std::make_shared<const MeshedPod>(
      MeshedPod{id, std::move(registration), std::move(addresses), std::move(*netns), 0});
}

/// node-a's view: kCluster plus `policies` (MeshPolicy documents), and its five meshed pods.
struct Node {
  NodeView view;
  weft::proxy::SuspectPeers suspects{std::chrono::seconds(2)};
  Balancer balancer{42, suspects};
  std::shared_ptr<const MeshedPod> client =
      meshed(1, "client-5f6d8-x2k", {"fd00:244::50", "10.244.0.50"});
  std::shared_ptr<const MeshedPod> cart = meshed(2, "cart-0", {"10.244.0.60"});
  std::shared_ptr<const MeshedPod> intruder = meshed(3, "intruder", {"10.244.0.70"});
  std::shared_ptr<const MeshedPod> orphan = meshed(4, "orphan", {"10.244.0.80"});
  std::shared_ptr<const MeshedPod> unnamed = meshed(5, "", {"10.244.0.90"});

  explicit Node(std::string_view policies = {}) {
    view.world = world_of(policies);
    view.trust_domain = "cluster.local";
    for (const auto& pod : {client, cart, intruder, orphan, unnamed}) {
      for (const IpAddr& a : pod->ips) {
        view.local_pods.emplace(a, pod);
      }
    }
  }

  FlowPlan outbound(const MeshedPod& src, std::string_view dst) {
    auto plan = plan_outbound(view, src, addr(dst), balancer, {}, {});
    REQUIRE_MESSAGE(plan.has_value(), dst);
    return *plan;
  }
};

std::string policy(std::string_view name, std::string_view spec) {
  return "apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: " +
         std::string(name) + ", namespace: shop}\nspec: " + std::string(spec) + "\n";
}

TEST_CASE("a Service address goes to the less loaded of its ready endpoints") {
  Node node;
  std::set<std::string> chosen;
  for (int i = 0; i < 50; ++i) {
    chosen.insert(node.outbound(*node.client, "10.96.0.20:80").target.str());
  }
  // Both ready endpoints get connections; 10.244.1.14 is not ready and never does.
  CHECK(chosen == std::set<std::string>{"10.244.1.11:8080", "10.244.1.12:8080"});

  for (int i = 0; i < 5; ++i) {
    node.balancer.opened(addr("10.244.1.11:8080"));
  }
  for (int i = 0; i < 20; ++i) {
    CHECK(node.outbound(*node.client, "10.96.0.20:80").target == addr("10.244.1.12:8080"));
  }
}

TEST_CASE("a Service without a ready endpoint gets no plan") {
  Node node;
  CHECK_FALSE(plan_outbound(node.view, *node.client, addr("10.96.0.40:80"), node.balancer, {}, {}));
}

TEST_CASE("a pod IP goes to that pod on the port the app dialled") {
  Node node;
  FlowPlan plan = node.outbound(*node.client, "10.244.1.12:9000");
  CHECK(plan.target == addr("10.244.1.12:9000"));
  CHECK(plan.route == FlowPlan::Route::Direct);
  CHECK(who(plan.labels.destination) == who(kWebB));
  CHECK(plan.labels.destination_service.empty());
  CHECK_FALSE(plan.service_address);

  // The pod discovery names is the one planned for: web-a's own agent meshes it.
  plan = node.outbound(*node.client, "10.244.1.11:9000");
  CHECK(plan.target == addr("10.244.1.11:9000"));
  CHECK(plan.route == FlowPlan::Route::Tunnel);
  CHECK(who(plan.labels.destination) == who(kWebA));
}

TEST_CASE("an address discovery does not know passes through unchanged") {
  Node node;
  // An outside address, and a ClusterIP on a port its Service does not have.
  for (std::string_view dst : {"93.184.216.34:443", "10.96.0.20:81"}) {
    INFO(dst);
    FlowPlan plan = node.outbound(*node.client, dst);
    CHECK(plan.target == addr(dst));
    CHECK(plan.route == FlowPlan::Route::Direct);
    CHECK(plan.expected_peer.empty());
    CHECK(who(plan.labels.destination) == who({}));
    CHECK(plan.labels.destination_service.empty());
    CHECK(plan.labels.security_policy == "none");
    CHECK_FALSE(plan.local_destination_labels);
    CHECK(plan.denied.empty());
  }
}

TEST_CASE("a pod meshed on this node is reached directly and reported for both ends") {
  Node node;
  // cart-0 carries the redirection annotation too: being meshed here is what counts.
  for (std::string_view dst : {"10.244.0.60:8080", "10.96.0.30:80"}) {
    INFO(dst);
    FlowPlan plan = node.outbound(*node.client, dst);
    CHECK(plan.target == addr("10.244.0.60:8080"));
    CHECK(plan.route == FlowPlan::Route::Direct);
    CHECK(plan.expected_peer.empty());
    CHECK(plan.labels.reporter == "source");
    CHECK(plan.labels.security_policy == "mutual_tls");
    CHECK(who(plan.labels.destination) == who(kCart));
    REQUIRE(plan.local_destination_labels);
    const agent::FlowLabels& dest = *plan.local_destination_labels;
    CHECK(dest.reporter == "destination");
    CHECK(who(dest.source) == who(kClient));
    CHECK(who(dest.destination) == who(kCart));
    CHECK(dest.destination_service == plan.labels.destination_service);
    CHECK(dest.security_policy == "mutual_tls");
  }
}

TEST_CASE("a pod meshed by another node's agent is reached through the tunnel") {
  Node node;
  FlowPlan plan = node.outbound(*node.client, "10.244.1.11:8080");
  CHECK(plan.target == addr("10.244.1.11:8080"));
  CHECK(plan.route == FlowPlan::Route::Tunnel);
  CHECK(plan.expected_peer == spiffe("web"));
  // The client's address of the target's family, though its IPv6 one is listed first.
  CHECK(plan.client_ip == ip("10.244.0.50"));
  CHECK(plan.labels.security_policy == "mutual_tls");
  CHECK_FALSE(plan.local_destination_labels);

  // Without the annotation, or with another value, nobody answers on :15008: plaintext.
  for (std::string_view dst : {"10.244.1.12:8080", "10.244.1.13:8080"}) {
    INFO(dst);
    plan = node.outbound(*node.client, dst);
    CHECK(plan.route == FlowPlan::Route::Direct);
    CHECK(plan.expected_peer.empty());
    CHECK_FALSE(plan.client_ip);
    CHECK(plan.labels.security_policy == "none");
  }
}

TEST_CASE("outbound labels name both workloads and the Service the app dialled") {
  Node node;
  node.balancer.opened(addr("10.244.1.12:8080"));  // so that web-a is chosen
  FlowPlan plan = node.outbound(*node.client, "10.96.0.20:80");
  REQUIRE(plan.target == addr("10.244.1.11:8080"));
  CHECK(plan.labels.reporter == "source");
  CHECK(who(plan.labels.source) == who(kClient));  // the Deployment, not the pod
  CHECK(who(plan.labels.destination) == who(kWebA));
  CHECK(plan.labels.destination_service == "web.shop.svc.cluster.local");
  // Sent through the tunnel, so that web-a's agent names the Service too.
  CHECK(plan.service_address == addr("10.96.0.20:80"));
}

TEST_CASE("the destination's policy refuses a same-node flow, and only a same-node one") {
  Node node(policy("cart-callers",
                   "{selector: {matchLabels: {app: cart}}, mode: STRICT, "
                   "allow: {principals: [\"" +
                       spiffe("client") + "\"]}}") +
            "---\n" + policy("web-closed", "{selector: {matchLabels: {app: web}}, allow: {}}"));
  CHECK(node.outbound(*node.client, "10.96.0.30:80").denied.empty());
  FlowPlan refused = node.outbound(*node.intruder, "10.244.0.60:8080");
  CHECK(refused.denied == "not_allowed");
  // Counted with both identities all the same.
  CHECK(who(refused.labels.source) == who({"intruder", "shop", spiffe("intruder")}));
  CHECK(who(refused.labels.destination) == who(kCart));
  REQUIRE(refused.local_destination_labels);

  // A pod the agent cannot name (no pod name from the runtime, no Pod object) has no principal:
  // to the policy it is a plaintext client.
  CHECK(node.outbound(*node.unnamed, "10.244.0.60:8080").denied == "plaintext_in_strict");

  // web-a's agent decides for web-a (403 on the stream); this one does not pre-empt it.
  CHECK(node.outbound(*node.client, "10.244.1.11:8080").denied.empty());
}

TEST_CASE("inbound plaintext has an unknown principal and meets the pod's policy as such") {
  Node node;
  FlowPlan plan =
      plan_inbound(node.view, *node.cart, addr("10.244.1.12:40000"), addr("10.244.0.60:8080"));
  CHECK(plan.target == addr("10.244.0.60:8080"));
  CHECK(plan.route == FlowPlan::Route::Direct);
  CHECK(plan.client_ip == ip("10.244.1.12"));
  CHECK(plan.labels.reporter == "destination");
  // Discovery's name for the peer's address, but never a principal from plaintext.
  CHECK(who(plan.labels.source) == who({"web-b", "shop", "unknown"}));
  CHECK(who(plan.labels.destination) == who(kCart));
  CHECK(plan.labels.security_policy == "none");
  CHECK(plan.denied.empty());

  struct Case {
    std::string_view spec;
    std::string_view denied;
  };
  for (Case c : {Case{"{mode: STRICT}", "plaintext_in_strict"},
                 Case{"{allow: {principals: [\"*\"]}}", "not_allowed"},
                 Case{"{allow: {namespaces: [shop]}}", "not_allowed"}}) {
    INFO(c.spec);
    Node guarded(policy("cart", c.spec));
    plan = plan_inbound(guarded.view, *guarded.cart, addr("10.244.1.11:40000"),
                        addr("10.244.0.60:8080"));
    CHECK(plan.denied == c.denied);
  }
}

TEST_CASE("a tunnel stream to the pod's app is labelled with the proven principal") {
  Node node;
  TunnelRequest req{addr("10.244.0.60:8080"), ip("10.244.1.11"), addr("10.96.0.30:80")};
  auto plan = plan_tunnel_inbound(node.view, *node.cart, req, spiffe("web"));
  REQUIRE(plan);
  CHECK(plan->target == addr("10.244.0.60:8080"));
  CHECK(plan->route == FlowPlan::Route::Direct);
  CHECK(plan->labels.reporter == "destination");
  CHECK(plan->labels.security_policy == "mutual_tls");
  CHECK(who(plan->labels.source) == who(kWebA));
  CHECK(plan->client_ip == ip("10.244.1.11"));
  CHECK(who(plan->labels.destination) == who(kCart));
  CHECK(plan->labels.destination_service == "cart.shop.svc.cluster.local");
  CHECK(plan->denied.empty());

  // A claimed client that does not run as the certificate's principal is not believed, nor is
  // a Service that does not have the target among its endpoints.
  req.claimed_client = ip("10.244.0.50");
  req.service_address = addr("10.96.0.20:80");
  plan = plan_tunnel_inbound(node.view, *node.cart, req, spiffe("web"));
  REQUIRE(plan);
  CHECK(who(plan->labels.source) == who({"", "", spiffe("web")}));
  CHECK_FALSE(plan->client_ip);
  CHECK(plan->labels.destination_service.empty());
}

TEST_CASE("a tunnel stream to another pod's address or to a weft port gets no plan") {
  Node node;
  const IpAddr cart = ip("10.244.0.60");
  // client's address (meshed here too), an outside one, then cart's but one of weft's ports.
  for (SockAddr target :
       {addr("10.244.0.50:8080"), addr("93.184.216.34:443"), SockAddr{cart, WEFT_OUTBOUND_PORT},
        SockAddr{cart, WEFT_INBOUND_PORT}, SockAddr{cart, WEFT_TUNNEL_PORT}}) {
    INFO(target.str());
    TunnelRequest req{target, ip("10.244.1.11"), std::nullopt};
    CHECK_FALSE(plan_tunnel_inbound(node.view, *node.cart, req, spiffe("web")));
  }
}

TEST_CASE("a tunnel stream meets the destination's policy with the certificate's principal") {
  struct Case {
    std::string_view spec;
    std::string_view principal;
    std::string_view denied;
  };
  const std::string client = spiffe("client");
  const std::string web = spiffe("web");
  const std::string allow_client = "{allow: {principals: [\"" + client + "\"]}}";
  for (Case c : {Case{"{mode: STRICT}", web, ""}, Case{allow_client, client, ""},
                 Case{allow_client, web, "not_allowed"}}) {
    INFO(c.spec, " ", c.principal);
    Node node(policy("cart", c.spec));
    TunnelRequest req{addr("10.244.0.60:8080"), ip("10.244.1.11"), std::nullopt};
    auto plan = plan_tunnel_inbound(node.view, *node.cart, req, std::string(c.principal));
    REQUIRE(plan);
    CHECK(plan->denied == c.denied);
  }
}

TEST_CASE("identity_of_local takes the Pod object, else the registered name") {
  Node node;
  CHECK(who(identity_of_local(node.view, *node.client)) == who(kClient));
  CHECK(who(identity_of_local(node.view, *node.cart)) == who(kCart));
  // No Pod object: the registration's name and namespace, service account "default".
  CHECK(who(identity_of_local(node.view, *node.orphan)) == who(kOrphan));
  CHECK(who(identity_of_local(node.view, *node.unnamed)) == who({}));
}

TEST_CASE("identity_of_ip names a pod meshed here, else one discovery knows, else nobody") {
  Node node;
  CHECK(who(identity_of_ip(node.view, ip("fd00:244::50"))) == who(kClient));
  CHECK(who(identity_of_ip(node.view, ip("10.244.0.80"))) == who(kOrphan));
  CHECK(who(identity_of_ip(node.view, ip("10.244.1.11"))) == who(kWebA));
  CHECK(who(identity_of_ip(node.view, ip("10.244.9.9"))) == who({}));
}

}  // namespace
}  // namespace weft::proxy
