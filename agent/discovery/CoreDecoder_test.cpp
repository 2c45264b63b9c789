// Service, EndpointSlice and Pod decoding (CoreDecoder), through decode_manifests().
#include "agent/discovery/CoreDecoder.hpp"

#include <doctest/doctest.h>

#include <string>

#include "agent/discovery/DecoderTesting.hpp"

namespace weft::discovery {
namespace {

IpAddr ip(std::string_view text) {
  return *IpAddr::parse(text);
}

TEST_CASE("decoder reads a v1 Service with every field the mesh uses") {
  Decoded d = decode_ok(R"(
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: demo
  labels: {app: echo, tier: "1"}
spec:
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "fd00:96::10"]
  ports:
  - name: http
    port: 80
    targetPort: 8080
    appProtocol: http
  - name: grpc
    port: 9090
    targetPort: grpc-port
    protocol: TCP
  - name: dns
    port: 53
    protocol: UDP
)");
  REQUIRE(d.objects.size() == 1);
  CHECK(d.ignored == 0);
  const auto& svc = std::get<Service>(d.objects[0]);
  CHECK(svc.name == "echo");
  CHECK(svc.ns == "demo");
  CHECK(svc.labels == std::map<std::string, std::string>{{"app", "echo"}, {"tier", "1"}});
  CHECK(svc.cluster_ips == std::vector<IpAddr>{ip("10.96.0.10"), ip("fd00:96::10")});
  REQUIRE(svc.ports.size() == 3);
  CHECK(svc.ports[0].name == "http");
  CHECK(svc.ports[0].port == 80);
  CHECK(svc.ports[0].target_port == "8080");
  CHECK(svc.ports[0].protocol == "TCP");
  CHECK(svc.ports[0].app_protocol == "http");
  CHECK(svc.ports[1].target_port == "grpc-port");
  CHECK(svc.ports[1].app_protocol.empty());
  CHECK(svc.ports[2].protocol == "UDP");
  CHECK(svc.fqdn() == "echo.demo.svc.cluster.local");
  CHECK(svc.fqdn("corp.example") == "echo.demo.svc.corp.example");
}

TEST_CASE("decoder reads the ports a Service exempts from the TCP idle timeout") {
  const char* head = R"(
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: demo
  annotations: {"weft.io/no-idle-timeout-ports": ")";
  const char* tail = R"("}
spec:
  ports: [{name: pg, port: 5432}, {name: redis, port: 6379}, {name: web, port: 80}]
)";
  Decoded d = decode_ok(std::string(head) + " 5432,6379 " + tail);
  const auto& svc = std::get<Service>(d.objects.at(0));
  CHECK(svc.ports[0].no_idle_timeout);
  CHECK(svc.ports[1].no_idle_timeout);
  CHECK_FALSE(svc.ports[2].no_idle_timeout);
  for (std::string_view bad : {"5433", "5432,,80", "pg", "5432;80"}) {
    CAPTURE(bad);
    CHECK(decode_error(std::string(head) + std::string(bad) + tail)
              .find("metadata.annotations.weft.io/no-idle-timeout-ports: expected ports of this "
                    "Service separated by commas") != std::string::npos);
  }
}

TEST_CASE("decoder applies the API defaults of a Service") {
  Decoded d = decode_ok(R"(
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  ports: [{port: 8080}]
)");
  const auto& svc = std::get<Service>(d.objects.at(0));
  CHECK(svc.ns == "default");
  CHECK(svc.cluster_ips.empty());
  REQUIRE(svc.ports.size() == 1);
  CHECK(svc.ports[0].name.empty());
  CHECK(svc.ports[0].target_port == "8080");
  CHECK(svc.ports[0].protocol == "TCP");
}

TEST_CASE("decoder reads a discovery.k8s.io/v1 EndpointSlice") {
  Decoded d = decode_ok(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-abc
  namespace: demo
  labels: {kubernetes.io/service-name: echo}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  nodeName: node-a
  targetRef: {kind: Pod, name: echo-7d4b9-x1}
- addresses: ["10.244.1.6"]
  conditions: {ready: false}
  targetRef: {kind: Pod, name: echo-7d4b9-x2, namespace: other}
- addresses: [10.244.1.7]
  conditions: {ready: null, serving: true}
ports:
- name: http
  port: 8080
- port: 9000
  protocol: TCP
- name: any
)");
  const auto& slice = std::get<EndpointSlice>(d.objects.at(0));
  CHECK(slice.name == "echo-abc");
  CHECK(slice.ns == "demo");
  CHECK(slice.service_name == "echo");
  CHECK(slice.address_type == "IPv4");
  REQUIRE(slice.endpoints.size() == 3);
  CHECK(slice.endpoints[0].addresses == std::vector<IpAddr>{ip("10.244.1.5")});
  CHECK(slice.endpoints[0].ready);  // absent means ready
  CHECK(slice.endpoints[0].node_name == "node-a");
  REQUIRE(slice.endpoints[0].target.has_value());
  CHECK(slice.endpoints[0].target->kind == "Pod");
  CHECK(slice.endpoints[0].target->name == "echo-7d4b9-x1");
  CHECK(slice.endpoints[0].target->ns == "demo");  // defaults to the slice's namespace
  CHECK_FALSE(slice.endpoints[1].ready);
  CHECK(slice.endpoints[1].target->ns == "other");
  CHECK(slice.endpoints[2].ready);  // null means unknown, read as ready
  CHECK_FALSE(slice.endpoints[2].target.has_value());
  REQUIRE(slice.ports.size() == 3);
  CHECK(slice.ports[0].name == "http");
  CHECK(slice.ports[0].port == std::optional<uint16_t>(8080));
  CHECK(slice.ports[0].protocol == "TCP");
  CHECK(slice.ports[1].name.empty());
  CHECK_FALSE(slice.ports[2].port.has_value());
}

TEST_CASE("decoder ignores FQDN EndpointSlices and kinds it does not read") {
  Decoded d = decode_ok(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext}
addressType: FQDN
endpoints: [{addresses: [example.com]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g}
spec: {whatever: [1, 2]}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: r}
spec: {whatever: [1, 2]}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: old}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}
)");
  CHECK(d.objects.empty());
  CHECK(d.ignored == 5);
}

TEST_CASE("decoder reads a v1 Pod") {
  Decoded d = decode_ok(R"(
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9-abcde
  namespace: shop
  uid: 0c2f-11
  labels: {app: web, pod-template-hash: 7d4b9}
  annotations: {weft.io/exclude-outbound-ports: "5432"}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9, controller: true, uid: x}
spec:
  serviceAccountName: web-sa
  nodeName: node-a
  containers: [{name: app, image: nginx}]
status:
  podIP: 10.244.0.7
  podIPs: [{ip: 10.244.0.7}, {ip: "fd00::7"}]
)");
  const auto& pod = std::get<Pod>(d.objects.at(0));
  CHECK(pod.name == "web-7d4b9-abcde");
  CHECK(pod.ns == "shop");
  CHECK(pod.uid == "0c2f-11");
  CHECK(pod.labels.at("pod-template-hash") == "7d4b9");
  CHECK(pod.annotations.at("weft.io/exclude-outbound-ports") == "5432");
  REQUIRE(pod.owners.size() == 1);
  CHECK(pod.owners[0].kind == "ReplicaSet");
  CHECK(pod.owners[0].name == "web-7d4b9");
  CHECK(pod.owners[0].controller);
  CHECK(pod.service_account == "web-sa");
  CHECK(pod.node_name == "node-a");
  CHECK(pod.ips == std::vector<IpAddr>{ip("10.244.0.7"), ip("fd00::7")});
}

TEST_CASE("decoder defaults a Pod's service account and takes the deprecated spelling") {
  Decoded d = decode_ok(R"(
apiVersion: v1
kind: Pod
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {serviceAccount: legacy}
)");
  REQUIRE(d.objects.size() == 2);
  CHECK(std::get<Pod>(d.objects[0]).service_account == "default");
  CHECK(std::get<Pod>(d.objects[0]).ns == "default");
  CHECK(std::get<Pod>(d.objects[0]).ips.empty());
  CHECK(std::get<Pod>(d.objects[1]).service_account == "legacy");
}

constexpr std::string_view kEchoHead = R"(
apiVersion: v1
kind: Pod
metadata: {name: first, namespace: demo}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec:
)";

TEST_CASE("decoder errors name the document, the object, the field and the reason") {
  struct Case {
    std::string_view spec;
    std::string_view message;
  };
  const Case cases[] = {
      {"  ports: [{port: eighty}]",
       R"(spec.ports[0].port: expected an integer 1-65535, got "eighty")"},
      {"  ports: [{port: 70000}]", "spec.ports[0].port: expected an integer 1-65535, got 70000"},
      {"  ports: [{port: 0}]", "spec.ports[0].port: expected an integer 1-65535, got 0"},
      {"  ports: [{port: \"80\"}]", R"(spec.ports[0].port: expected an integer 1-65535, got "80")"},
      {"  ports: [{port: 0x50}]", R"(spec.ports[0].port: expected an integer 1-65535, got "0x50")"},
      {"  ports: [{port: 99999999999999999999}]",
       R"(spec.ports[0].port: expected an integer 1-65535, got "99999999999999999999")"},
      {"  ports: [{name: http}]", "spec.ports[0].port: required"},
      {"  ports: {http: 80}", "spec.ports: expected a list, got a map"},
      {"  ports: [{port: 80, protocol: tcp}]",
       R"(spec.ports[0].protocol: expected TCP, UDP or SCTP, got "tcp")"},
      {"  ports: [{port: 80, targetPort: Http_Port}]",
       R"(spec.ports[0].targetPort: expected a port number 1-65535 or a port name, got "Http_Port")"},
      {"  ports: [{port: 80, targetPort: 0}]",
       "spec.ports[0].targetPort: expected an integer 1-65535, got 0"},
      {"  ports: [{port: 80, targetPort: \"70000\"}]",
       R"(spec.ports[0].targetPort: expected a port number 1-65535 or a port name, got "70000")"},
      {"  ports: [{port: 80}, {port: 81}]",
       "spec.ports[0].name: required when a Service has more than one port"},
      {"  ports: [{name: a, port: 80}, {name: a, port: 81}]",
       R"(spec.ports[1].name: duplicate port name "a")"},
      {"  ports: [{name: a, port: 80}, {name: b, port: 80}]",
       "spec.ports[1]: duplicate port 80/TCP"},
      {"  ports: [{name: A, port: 80}]",
       R"(spec.ports[0].name: expected a DNS-1123 label, got "A")"},
      {"  clusterIP: 10.0.0.300",
       R"(spec.clusterIP: expected an IP address or "None", got "10.0.0.300")"},
      {"  clusterIPs: [10.0.0.1, bogus]",
       R"(spec.clusterIPs[1]: expected an IP address or "None", got "bogus")"},
      {"  clusterIP: [1]", "spec.clusterIP: expected a string, got a list"},
      {"  ports: [{port: 80, appProtocol: {a: b}}]",
       "spec.ports[0].appProtocol: expected a string, got a map"},
      {"  - 1", "spec: expected a map, got a list"},
  };
  for (const Case& c : cases) {
    std::string text = std::string(kEchoHead) + std::string(c.spec) + "\n";
    CHECK(decode_error(text) ==
          "pods.yaml: document 2 (Service demo/echo): " + std::string(c.message));
  }
}

TEST_CASE("decoder errors for metadata, kinds, slices and pods") {
  struct Case {
    std::string_view yaml;
    std::string_view message;
  };
  const Case cases[] = {
      {"apiVersion: v1\nkind: Service\nmetadata: {namespace: demo}\n",
       "document 1 (Service): metadata.name: required"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: Echo}\n",
       R"(document 1 (Service): metadata.name: expected a DNS-1123 name (lowercase letters, digits, '-', '.'), got "Echo")"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: e, namespace: a.b}\n",
       R"(document 1 (Service): metadata.namespace: expected a DNS-1123 label, got "a.b")"},
      {"apiVersion: v1\nkind: Service\nmetadata: [1]\n",
       "document 1 (Service): metadata: expected a map, got a list"},
      {"apiVersion: v1\nmetadata: {name: e}\n", "document 1: kind: required"},
      {"kind: Pod\nmetadata: {name: e}\n", "document 1: apiVersion: required"},
      {"- a\n- b\n", "document 1: expected a Kubernetes object (a map), got a list"},
      {"just text\n", R"(document 1: expected a Kubernetes object (a map), got "just text")"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: {x: 1}}}\n",
       R"(document 1 (Pod default/p): metadata.labels["app"]: expected a string, got a map)"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: 10.1.1}\n",
       R"(document 1 (Pod default/p): status.podIP: expected an IP address, got "10.1.1")"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIPs: [{ip: x}]}\n",
       R"(document 1 (Pod default/p): status.podIPs[0].ip: expected an IP address, got "x")"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {serviceAccountName: \"a/b\"}\n",
       R"(document 1 (Pod default/p): spec.serviceAccountName: expected a DNS-1123 name (lowercase letters, digits, '-', '.'), got "a/b")"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p, ownerReferences: [{kind: Job}]}\n",
       "document 1 (Pod default/p): metadata.ownerReferences[0].name: required"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p, ownerReferences: [{kind: Job, name: j, "
       "controller: yes}]}\n",
       R"(document 1 (Pod default/p): metadata.ownerReferences[0].controller: expected true or false, got "yes")"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n",
       "document 1 (EndpointSlice default/s): addressType: required"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
       "addressType: ipv4\n",
       R"(document 1 (EndpointSlice default/s): addressType: expected IPv4, IPv6 or FQDN, got "ipv4")"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
       "addressType: IPv4\nendpoints: [{addresses: [\"fd00::1\"]}]\n",
       R"(document 1 (EndpointSlice default/s): endpoints[0].addresses[0]: expected an IPv4 address, got "fd00::1")"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
       "addressType: IPv4\nendpoints: [{addresses: []}]\n",
       "document 1 (EndpointSlice default/s): endpoints[0].addresses: required (at least one "
       "address)"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
       "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {ready: \"true\"}}]\n",
       R"(document 1 (EndpointSlice default/s): endpoints[0].conditions.ready: expected true or false, got "true")"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
       "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], targetRef: {kind: Pod}}]\n",
       "document 1 (EndpointSlice default/s): endpoints[0].targetRef.name: required"},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
       "addressType: IPv4\nports: [{port: -1}]\n",
       "document 1 (EndpointSlice default/s): ports[0].port: expected an integer 1-65535, got -1"},
      {"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n"
       "- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: demo}, status: {podIP: 1}}\n",
       R"(document 1 items[1] (Pod demo/b): status.podIP: expected an IP address, got "1")"},
      {"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n",
       "document 1 items[0] (List): a list inside a list"},
      {"apiVersion: v1\nkind: List\nitems: {a: 1}\n",
       "document 1 (List): items: expected a list, got a map"},
  };
  for (const Case& c : cases) {
    CHECK(decode_error(c.yaml) == "pods.yaml: " + std::string(c.message));
  }
}

}  // namespace
}  // namespace weft::discovery
