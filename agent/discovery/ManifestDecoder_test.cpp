#include "agent/discovery/ManifestDecoder.hpp"

#include <doctest/doctest.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>

namespace weft::discovery {
namespace {

Decoded decode_ok(std::string_view text) {
  auto result = decode_manifests("test.yaml", text);
  INFO(text);
  REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().message));
  return std::move(*result);
}

std::string decode_error(std::string_view text, const DecodeLimits& limits = {}) {
  auto result = decode_manifests("pods.yaml", text, limits);
  INFO(text);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == Error::Kind::Protocol);
  return result.error().message;
}

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

TEST_CASE("decoder reads multi-document files, empty documents included") {
  Decoded d = decode_ok(R"(---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{port: 1}]}
---
---
apiVersion: v1
kind: Pod
metadata: {name: p}
---
)");
  REQUIRE(d.objects.size() == 2);
  CHECK(std::holds_alternative<Service>(d.objects[0]));
  CHECK(std::holds_alternative<Pod>(d.objects[1]));
}

TEST_CASE("decoder reads kind List and typed lists whose items omit kind") {
  Decoded d = decode_ok(R"(
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s}
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
- apiVersion: example.com/v1
  kind: Widget
  metadata: {name: w}
---
apiVersion: v1
kind: PodList
metadata: {resourceVersion: "12"}
items:
- metadata: {name: q, namespace: n}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSliceList
items:
- metadata: {name: e}
  addressType: IPv6
  endpoints: [{addresses: ["fd00::1"]}]
)");
  REQUIRE(d.objects.size() == 4);
  CHECK(d.ignored == 1);
  CHECK(std::get<Service>(d.objects[0]).name == "s");
  CHECK(std::get<Pod>(d.objects[1]).name == "p");
  CHECK(std::get<Pod>(d.objects[2]).ns == "n");
  CHECK(std::get<EndpointSlice>(d.objects[3]).address_type == "IPv6");
}

TEST_CASE("decoder reads JSON, which is YAML") {
  Decoded d = decode_ok(R"({"apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "echo", "namespace": "demo"},
    "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})");
  const auto& svc = std::get<Service>(d.objects.at(0));
  CHECK(svc.ports.at(0).port == 80);
  CHECK(svc.ports.at(0).target_port == "http");
}

TEST_CASE("decode_object decodes one parsed object with the same rules") {
  YAML::Node node = YAML::Load(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}})");
  auto ok = decode_object(node, "watch event 3");
  REQUIRE(ok.has_value());
  CHECK(std::get<Pod>(ok->objects.at(0)).name == "p");
  YAML::Node bad = YAML::Load(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"P"}})");
  auto err = decode_object(bad, "watch event 4");
  REQUIRE_FALSE(err.has_value());
  CHECK(err.error().message.starts_with("watch event 4 (Pod): metadata.name: expected a DNS-1123"));
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

TEST_CASE("decoder reports invalid YAML with its position") {
  std::string message = decode_error("apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n");
  CHECK(message.starts_with("pods.yaml: invalid YAML at line "));
  message = decode_error("a: b\n  c: d: e\n");
  CHECK(message.starts_with("pods.yaml: invalid YAML at line 2"));
}

TEST_CASE("decoder messages stay on one line whatever the input holds") {
  std::string message = decode_error(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: \"a\\nb\\u0001\\\"\"}\n");
  CHECK(
      message ==
      R"(pods.yaml: document 1 (Pod default/p): status.podIP: expected an IP address, got "a\nb\x01\"")");
  // yaml-cpp puts the offending byte in its message; found by manifest_fuzz.
  const char kBadEscape[] =
      "apiVers\x94opiVersVers\x94"
      "d{\":apiVn: \xf6"
      "1\nkiJJJJJJJJJJJJ\x01";
  message =
      decode_error(std::string(kBadEscape, sizeof(kBadEscape) - 1) + std::string("\0\nd,piV", 7));
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.starts_with("pods.yaml: invalid YAML at line 3"));
  std::string long_value(500, 'x');
  message = decode_error(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: " + long_value + "}\n");
  CHECK(message.size() < 200);
  CHECK(message.ends_with("xxx...\""));
}

TEST_CASE("decoder enforces its limits with clear errors") {
  DecodeLimits small;
  small.max_bytes = 100;
  CHECK(decode_error(std::string(101, ' '), small) ==
        "pods.yaml: 101 bytes is more than the limit of 100 bytes");

  DecodeLimits docs;
  docs.max_documents = 3;
  CHECK(decode_error("a: 1\n---\nb: 1\n---\nc: 1\n---\nd: 1\n", docs) ==
        "pods.yaml: too large: more than 3 documents");

  DecodeLimits nodes;
  nodes.max_nodes = 100;
  std::string list = "a: [";
  for (int i = 0; i < 200; ++i) {
    list += "1,";
  }
  list += "1]\n";
  CHECK(decode_error(list, nodes) == "pods.yaml: too large: more than 100 YAML nodes");

  DecodeLimits objects;
  objects.max_objects = 2;
  CHECK(decode_error("apiVersion: v1\nkind: List\nitems:\n"
                     "- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n"
                     "- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n"
                     "- {apiVersion: v1, kind: Pod, metadata: {name: c}}\n",
                     objects) ==
        "pods.yaml: document 1 items[2] (Pod default/c): more than 2 objects");
}

TEST_CASE("decoder rejects deep nesting through yaml-cpp's depth guard") {
  std::string deep = "a: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  std::string message = decode_error(deep);
  CHECK(message.starts_with("pods.yaml: invalid YAML at line 1"));
  CHECK(message.find("nested deeper than") != std::string::npos);
}

TEST_CASE("decoder bounds alias expansion") {
  // Each item aliases the same pod with many labels: tiny text, large walk.
  std::string text =
      "apiVersion: v1\nkind: List\nitems:\n- &p {apiVersion: v1, kind: Pod, "
      "metadata: {name: a, labels: {";
  for (int i = 0; i < 200; ++i) {
    text += "l" + std::to_string(i) + ": v,";
  }
  text += "z: v}}}\n";
  for (int i = 0; i < 500; ++i) {
    text += "- *p\n";
  }
  DecodeLimits limits;
  limits.max_visits = 20'000;
  std::string message = decode_error(text, limits);
  CHECK(message.find("expands to too many nodes") != std::string::npos);
  // The same input within the default limits decodes (500 copies of one pod).
  CHECK(decode_ok(text).objects.size() == 501);
}

TEST_CASE("decoder reads a security.weft.io/v1alpha1 MeshPolicy") {
  Decoded d = decode_ok(R"(
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata:
  name: echo-callers
  namespace: demo
  labels: {team: a}
spec:
  selector:
    matchLabels: {app: echo, version: 1}
  mode: STRICT
  allow:
    principals: ["spiffe://cluster.local/ns/demo/sa/client", "*"]
    namespaces: [demo, prod]
)");
  REQUIRE(d.objects.size() == 1);
  const auto& policy = std::get<MeshPolicy>(d.objects[0]);
  CHECK(policy.name == "echo-callers");
  CHECK(policy.ns == "demo");
  CHECK(policy.match_labels ==
        std::map<std::string, std::string>{{"app", "echo"}, {"version", "1"}});
  CHECK(policy.mode == MeshPolicy::Mode::Strict);
  REQUIRE(policy.allow.has_value());
  CHECK(policy.allow->principals ==
        std::vector<std::string>{"spiffe://cluster.local/ns/demo/sa/client", "*"});
  CHECK(policy.allow->namespaces == std::vector<std::string>{"demo", "prod"});
}

TEST_CASE("decoder applies a MeshPolicy's defaults and keeps an empty allow") {
  Decoded d = decode_ok(R"(
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: all}
spec: {}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: none, namespace: demo}
spec:
  selector: {}
  mode: PERMISSIVE
  allow: {}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: nulls, namespace: demo}
spec: {selector: null, mode: null, allow: null}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: no-spec, namespace: demo}
)");
  REQUIRE(d.objects.size() == 4);
  const auto& all = std::get<MeshPolicy>(d.objects[0]);
  CHECK(all.ns == "default");
  CHECK(all.match_labels.empty());
  CHECK(all.mode == MeshPolicy::Mode::Permissive);
  CHECK_FALSE(all.allow.has_value());
  // allow: {} is present: it allows nothing (README), unlike an absent or null allow.
  const auto& none = std::get<MeshPolicy>(d.objects[1]);
  REQUIRE(none.allow.has_value());
  CHECK(none.allow->principals.empty());
  CHECK(none.allow->namespaces.empty());
  for (std::size_t i : {2U, 3U}) {
    const auto& p = std::get<MeshPolicy>(d.objects[i]);
    CHECK(p.match_labels.empty());
    CHECK(p.mode == MeshPolicy::Mode::Permissive);
    CHECK_FALSE(p.allow.has_value());
  }
}

TEST_CASE("decoder reads MeshPolicies from kind List, MeshPolicyList and JSON") {
  Decoded d = decode_ok(R"(
apiVersion: v1
kind: List
items:
- apiVersion: security.weft.io/v1alpha1
  kind: MeshPolicy
  metadata: {name: a, namespace: demo}
  spec: {mode: STRICT}
- apiVersion: v1
  kind: Pod
  metadata: {name: p, namespace: demo}
---
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicyList
items:
- metadata: {name: b, namespace: demo}
  spec: {allow: {namespaces: [demo]}}
---
{"apiVersion": "security.weft.io/v1alpha1", "kind": "MeshPolicy",
 "metadata": {"name": "c", "namespace": "e2e"},
 "spec": {"selector": {"matchLabels": {"app": "echo"}},
          "allow": {"principals": ["spiffe://cluster.local/ns/e2e/sa/client"]}}}
)");
  REQUIRE(d.objects.size() == 4);
  CHECK(std::get<MeshPolicy>(d.objects[0]).mode == MeshPolicy::Mode::Strict);
  CHECK(std::holds_alternative<Pod>(d.objects[1]));
  CHECK(std::get<MeshPolicy>(d.objects[2]).allow->namespaces == std::vector<std::string>{"demo"});
  const auto& c = std::get<MeshPolicy>(d.objects[3]);
  CHECK(c.match_labels.at("app") == "echo");
  CHECK(c.allow->principals == std::vector<std::string>{"spiffe://cluster.local/ns/e2e/sa/client"});
}

TEST_CASE("decoder rejects every malformed MeshPolicy field, typos included") {
  constexpr std::string_view kHead =
      "apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\n"
      "metadata: {name: echo-callers, namespace: demo}\n";
  constexpr std::string_view kSpiffe =
      R"(expected "*" or a SPIFFE ID spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, got )";
  struct Case {
    std::string_view body;
    std::string message;
  };
  const Case cases[] = {
      {"spec: {mode: strict}", R"(spec.mode: expected STRICT or PERMISSIVE, got "strict")"},
      {"spec: {mode: \"\"}", R"(spec.mode: expected STRICT or PERMISSIVE, got "")"},
      {"spec: {mode: [STRICT]}", "spec.mode: expected a string, got a list"},
      {"spec: STRICT", R"(spec: expected a map, got "STRICT")"},
      {"spec: {selector: [app]}", "spec.selector: expected a map, got a list"},
      {"spec: {selector: {matchLabels: [app]}}",
       "spec.selector.matchLabels: expected a map of strings, got a list"},
      {"spec: {selector: {matchLabels: {app: {a: b}}}}",
       R"(spec.selector.matchLabels["app"]: expected a string, got a map)"},
      {"spec: {selector: {matchExpressions: [{key: app, operator: Exists}]}}",
       "spec.selector.matchExpressions: not supported; use matchLabels"},
      {"spec: {selector: {matchLabels: {app: echo}, matchExpressions: []}}",
       "spec.selector.matchExpressions: not supported; use matchLabels"},
      {"spec: {selector: {matchLabel: {app: echo}}}",
       R"(spec.selector["matchLabel"]: unknown field (expected one of: matchLabels))"},
      {"spec: {alow: {principals: []}}",
       R"(spec["alow"]: unknown field (expected one of: selector, mode, allow))"},
      {"spec: {Mode: STRICT}",
       R"(spec["Mode"]: unknown field (expected one of: selector, mode, allow))"},
      {"spec: {allow: {principal: [\"*\"]}}",
       R"(spec.allow["principal"]: unknown field (expected one of: principals, namespaces))"},
      {"spec: {mode: PERMISSIVE}\nsepc: {mode: STRICT}",
       R"(["sepc"]: unknown field (expected one of: apiVersion, kind, metadata, spec, status))"},
      {"spec: {mode: STRICT, mode: PERMISSIVE}", "spec.mode: duplicate field"},
      {"spec: {allow: [demo]}", "spec.allow: expected a map, got a list"},
      {"spec: {allow: {principals: \"spiffe://cluster.local/ns/demo/sa/client\"}}",
       R"(spec.allow.principals: expected a list, got "spiffe://cluster.local/ns/demo/sa/client")"},
      {"spec: {allow: {principals: [client]}}",
       std::string("spec.allow.principals[0]: ") + std::string(kSpiffe) + R"("client")"},
      {"spec: {allow: {principals: [\"*\", \"spiffe://cluster.local/ns/demo/client\"]}}",
       std::string("spec.allow.principals[1]: ") + std::string(kSpiffe) +
           R"("spiffe://cluster.local/ns/demo/client")"},
      {"spec: {allow: {principals: [\"spiffe://Cluster.Local/ns/demo/sa/client\"]}}",
       std::string("spec.allow.principals[0]: ") + std::string(kSpiffe) +
           R"("spiffe://Cluster.Local/ns/demo/sa/client")"},
      {"spec: {allow: {principals: [\"spiffe://cluster.local/ns/demo/sa/client/x\"]}}",
       std::string("spec.allow.principals[0]: ") + std::string(kSpiffe) +
           R"("spiffe://cluster.local/ns/demo/sa/client/x")"},
      {"spec: {allow: {principals: [\"https://cluster.local/ns/demo/sa/client\"]}}",
       std::string("spec.allow.principals[0]: ") + std::string(kSpiffe) +
           R"("https://cluster.local/ns/demo/sa/client")"},
      {"spec: {allow: {principals: [\"**\"]}}",
       std::string("spec.allow.principals[0]: ") + std::string(kSpiffe) + R"("**")"},
      {"spec: {allow: {principals: [null]}}", "spec.allow.principals[0]: required"},
      {"spec: {allow: {principals: [\"\"]}}", "spec.allow.principals[0]: required"},
      {"spec: {allow: {principals: [{a: b}]}}",
       "spec.allow.principals[0]: expected a string, got a map"},
      {"spec: {allow: {namespaces: demo}}",
       R"(spec.allow.namespaces: expected a list, got "demo")"},
      {"spec: {allow: {namespaces: [Demo]}}",
       R"(spec.allow.namespaces[0]: expected a namespace name (DNS-1123 label), got "Demo")"},
      {"spec: {allow: {namespaces: [\"*\"]}}",
       R"(spec.allow.namespaces[0]: expected a namespace name (DNS-1123 label), got "*")"},
      {"spec: {allow: {namespaces: [a.b]}}",
       R"(spec.allow.namespaces[0]: expected a namespace name (DNS-1123 label), got "a.b")"},
  };
  for (const Case& c : cases) {
    std::string text = std::string(kHead) + std::string(c.body) + "\n";
    CHECK(decode_error(text) ==
          "pods.yaml: document 1 (MeshPolicy demo/echo-callers): " + c.message);
  }
}

TEST_CASE("decoder never skips an object of the security.weft.io group") {
  struct Case {
    std::string_view yaml;
    std::string_view message;
  };
  const Case cases[] = {
      {"apiVersion: security.weft.io/v1\nkind: MeshPolicy\nmetadata: {name: p}\n",
       R"(document 1 (MeshPolicy): apiVersion "security.weft.io/v1" is not supported (expected security.weft.io/v1alpha1 MeshPolicy))"},
      {"apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicies\nmetadata: {name: p}\n",
       R"(document 1 (MeshPolicies): apiVersion "security.weft.io/v1alpha1" is not supported (expected security.weft.io/v1alpha1 MeshPolicy))"},
      {"apiVersion: security.weft.io/v1alpha1\nkind: \"Mesh Policy\\n\"\nmetadata: {name: p}\n",
       R"(document 1 ("Mesh Policy\n"): apiVersion "security.weft.io/v1alpha1" is not supported (expected security.weft.io/v1alpha1 MeshPolicy))"},
      {"apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\nmetadata: {namespace: demo}\n",
       "document 1 (MeshPolicy): metadata.name: required"},
      {"apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\n"
       "metadata: {name: p, namespace: Demo}\n",
       R"(document 1 (MeshPolicy): metadata.namespace: expected a DNS-1123 label, got "Demo")"},
      {"apiVersion: v1\nkind: List\nitems:\n"
       "- {apiVersion: security.weft.io/v1alpha1, kind: MeshPolicy, metadata: {name: a}}\n"
       "- {apiVersion: security.weft.io/v1alpha1, kind: MeshPolicy, metadata: {name: b},"
       " spec: {mode: Strict}}\n",
       R"(document 1 items[1] (MeshPolicy default/b): spec.mode: expected STRICT or PERMISSIVE, got "Strict")"},
      {"apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicyList\nitems:\n"
       "- {metadata: {name: a}, spec: {allow: {principals: [x]}}}\n",
       R"(document 1 items[0] (MeshPolicy default/a): spec.allow.principals[0]: expected "*" or a SPIFFE ID spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, got "x")"},
  };
  for (const Case& c : cases) {
    CHECK(decode_error(c.yaml) == "pods.yaml: " + std::string(c.message));
  }
  // Other groups' kinds stay ignored, as before.
  Decoded d = decode_ok(
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
      "metadata: {name: p}\nspec: {anything: [1]}\n");
  CHECK(d.objects.empty());
  CHECK(d.ignored == 1);
}

TEST_CASE("decoder quotes an odd kind of a nested list on one line") {
  CHECK(decode_error("apiVersion: v1\nkind: List\nitems:\n"
                     "- {apiVersion: v1, kind: \"a\\nList\", items: []}\n") ==
        R"(pods.yaml: document 1 items[0] ("a\nList"): a list inside a list)");
}

TEST_CASE("decoder quotes an unknown MeshPolicy key on one line") {
  std::string message = decode_error(
      "apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: p}\n"
      "spec: {\"al\\nlow\": {}}\n");
  CHECK(
      message ==
      R"(pods.yaml: document 1 (MeshPolicy default/p): spec["al\nlow"]: unknown field (expected one of: selector, mode, allow))");
  message = decode_error(
      "apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: p}\n"
      "spec: {[a]: 1}\n");
  CHECK(message ==
        "pods.yaml: document 1 (MeshPolicy default/p): spec: expected string keys, got a list");
}

// ---- Gateway API routes ----

using std::chrono::milliseconds;

TEST_CASE("decoder reads a gateway.networking.k8s.io/v1 HTTPRoute with every field") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo-canary
  namespace: demo
  creationTimestamp: "2024-05-01T12:00:00Z"
  labels: {team: a}
  resourceVersion: "7"
spec:
  parentRefs:
  - {group: "", kind: Service, name: echo, port: 80}
  - {group: core, kind: Service, name: echo, namespace: other, sectionName: http}
  - {name: edge, namespace: infra}
  hostnames: [echo.demo.svc.cluster.local, "*.example.com"]
  rules:
  - name: canary
    matches:
    - path: {type: Exact, value: /api/v1}
      headers:
      - {name: X-Canary, value: "true"}
      - {type: RegularExpression, name: user-agent, value: "curl/.*"}
      - {name: x-canary, value: ignored}
      queryParams:
      - {name: Debug, value: "1"}
      - {type: RegularExpression, name: v, value: "[0-9]+"}
      method: POST
    - path: {type: RegularExpression, value: "/items/[0-9]+"}
    - path: {value: /static/}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Route, value: canary}]
        add: [{name: Via, value: weft}]
        remove: [X-Debug]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        add: [{name: x-served-by, value: "echo v2"}]
    backendRefs:
    - {name: echo-v1, port: 8080, weight: 90}
    - {group: "", kind: Service, name: echo-v2, namespace: other, port: 8081, weight: 10}
    - {group: example.com, kind: Bucket, name: b, weight: 0}
    timeouts: {request: 10s, backendRequest: 2s500ms}
    retry: {codes: [500, 503], attempts: 2, backoff: 100ms}
  - backendRefs: [{name: echo, port: 80}]
status:
  parents: [{parentRef: {name: echo}, controllerName: example.com/x, conditions: []}]
)");
  REQUIRE(d.objects.size() == 1);
  const auto& route = std::get<HttpRoute>(d.objects[0]);
  CHECK(route.kind == Route::Kind::Http);
  CHECK(route.kind_name() == "HTTPRoute");
  CHECK(route.name == "echo-canary");
  CHECK(route.ns == "demo");
  REQUIRE(route.created.has_value());
  CHECK(*route.created ==
        std::chrono::sys_days(std::chrono::year(2024) / 5 / 1) + std::chrono::hours(12));
  REQUIRE(route.parents.size() == 3);
  CHECK(route.parents[0].group.empty());
  CHECK(route.parents[0].kind == "Service");
  CHECK(route.parents[0].name == "echo");
  CHECK(route.parents[0].ns == "demo");  // the route's namespace
  CHECK(route.parents[0].port == std::optional<uint16_t>(80));
  CHECK(route.parents[0].section_name.empty());
  CHECK(route.parents[0].is_service());
  CHECK(route.parents[1].group == "core");
  CHECK(route.parents[1].ns == "other");
  CHECK(route.parents[1].section_name == "http");
  CHECK_FALSE(route.parents[1].port.has_value());
  CHECK(route.parents[1].is_service());
  CHECK(route.parents[2].group == "gateway.networking.k8s.io");
  CHECK(route.parents[2].kind == "Gateway");
  CHECK(route.parents[2].ns == "infra");
  CHECK_FALSE(route.parents[2].is_service());
  CHECK(route.hostnames ==
        std::vector<std::string>{"echo.demo.svc.cluster.local", "*.example.com"});

  REQUIRE(route.rules.size() == 2);
  const HttpRouteRule& rule = route.rules[0];
  CHECK(rule.name == "canary");
  REQUIRE(rule.matches.size() == 3);
  const HttpRouteMatch& m = rule.matches[0];
  CHECK(m.path.type == PathMatch::Type::Exact);
  CHECK(m.path.value == "/api/v1");
  CHECK(m.path.regex == nullptr);
  // "x-canary" repeats "X-Canary" case-insensitively: only the first counts.
  REQUIRE(m.headers.size() == 2);
  CHECK(m.headers[0].type == MatchType::Exact);
  CHECK(m.headers[0].name == "x-canary");  // lower-cased
  CHECK(m.headers[0].value == "true");
  CHECK(m.headers[0].regex == nullptr);
  CHECK(m.headers[1].type == MatchType::RegularExpression);
  CHECK(m.headers[1].value == "curl/.*");
  REQUIRE(m.headers[1].regex != nullptr);
  CHECK(RE2::FullMatch("curl/8.1", *m.headers[1].regex));
  REQUIRE(m.query_params.size() == 2);
  CHECK(m.query_params[0].name == "Debug");  // query names keep their case
  CHECK(m.query_params[0].value == "1");
  CHECK(m.query_params[1].type == MatchType::RegularExpression);
  REQUIRE(m.query_params[1].regex != nullptr);
  CHECK(m.method == "POST");
  CHECK(rule.matches[1].path.type == PathMatch::Type::RegularExpression);
  REQUIRE(rule.matches[1].path.regex != nullptr);
  CHECK(RE2::FullMatch("/items/42", *rule.matches[1].path.regex));
  CHECK(rule.matches[2].path.type == PathMatch::Type::PathPrefix);  // the default type
  CHECK(rule.matches[2].path.value == "/static/");
  CHECK(rule.matches[2].method.empty());

  REQUIRE(rule.request_headers.has_value());
  REQUIRE(rule.request_headers->set.size() == 1);
  CHECK(rule.request_headers->set[0].name == "x-route");
  CHECK(rule.request_headers->set[0].value == "canary");
  REQUIRE(rule.request_headers->add.size() == 1);
  CHECK(rule.request_headers->add[0].name == "via");
  CHECK(rule.request_headers->remove == std::vector<std::string>{"x-debug"});
  REQUIRE(rule.response_headers.has_value());
  CHECK(rule.response_headers->set.empty());
  CHECK(rule.response_headers->add.at(0).value == "echo v2");

  REQUIRE(rule.backends.size() == 3);
  CHECK(rule.backends[0].group.empty());
  CHECK(rule.backends[0].kind == "Service");
  CHECK(rule.backends[0].name == "echo-v1");
  CHECK(rule.backends[0].ns == "demo");
  CHECK(rule.backends[0].port == std::optional<uint16_t>(8080));
  CHECK(rule.backends[0].weight == 90);
  CHECK(rule.backends[0].is_service());
  CHECK(rule.backends[1].ns == "other");
  CHECK(rule.backends[1].weight == 10);
  CHECK(rule.backends[2].kind == "Bucket");
  CHECK_FALSE(rule.backends[2].port.has_value());  // not required for other kinds
  CHECK(rule.backends[2].weight == 0);
  CHECK_FALSE(rule.backends[2].is_service());

  CHECK(rule.timeouts.request == std::optional<milliseconds>(10'000));
  CHECK(rule.timeouts.backend_request == std::optional<milliseconds>(2'500));
  REQUIRE(rule.retry.has_value());
  CHECK(rule.retry->codes == std::vector<uint16_t>{500, 503});
  CHECK(rule.retry->attempts == std::optional<uint32_t>(2));
  CHECK(rule.retry->backoff == std::optional<milliseconds>(100));

  const HttpRouteRule& plain = route.rules[1];
  CHECK(plain.name.empty());
  REQUIRE(plain.matches.size() == 1);  // matches absent: PathPrefix "/"
  CHECK(plain.matches[0].path.type == PathMatch::Type::PathPrefix);
  CHECK(plain.matches[0].path.value == "/");
  CHECK_FALSE(plain.request_headers.has_value());
  CHECK_FALSE(plain.response_headers.has_value());
  CHECK(plain.backends.at(0).weight == 1);  // the default weight
  CHECK_FALSE(plain.timeouts.request.has_value());
  CHECK_FALSE(plain.timeouts.backend_request.has_value());
  CHECK_FALSE(plain.retry.has_value());
}

TEST_CASE("decoder applies an HTTPRoute's defaults") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-rules}
spec:
  parentRefs: [{kind: Service, group: "", name: echo}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: empty-matches, namespace: demo}
spec:
  rules:
  - matches: []
    backendRefs: [{name: echo, port: 80}]
  - matches: [{}, {path: {type: Exact}}, {path: {}, headers: null, queryParams: []}]
    timeouts: {}
    retry: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-spec, creationTimestamp: null}
)");
  REQUIRE(d.objects.size() == 3);
  const auto& no_rules = std::get<HttpRoute>(d.objects[0]);
  CHECK(no_rules.ns == "default");
  CHECK_FALSE(no_rules.created.has_value());
  CHECK(no_rules.parents.at(0).ns == "default");
  CHECK(no_rules.hostnames.empty());
  // rules absent: the API's default rule, one PathPrefix "/" match and no backends (a 500).
  REQUIRE(no_rules.rules.size() == 1);
  REQUIRE(no_rules.rules[0].matches.size() == 1);
  CHECK(no_rules.rules[0].matches[0].path.value == "/");
  CHECK(no_rules.rules[0].backends.empty());

  const auto& empty = std::get<HttpRoute>(d.objects[1]);
  REQUIRE(empty.rules.size() == 2);
  REQUIRE(empty.rules[0].matches.size() == 1);  // [] reads as absent
  CHECK(empty.rules[0].matches[0].path.type == PathMatch::Type::PathPrefix);
  CHECK(empty.rules[0].backends.at(0).ns == "demo");
  REQUIRE(empty.rules[1].matches.size() == 3);
  for (const HttpRouteMatch& m : empty.rules[1].matches) {
    CHECK(m.path.value == "/");
    CHECK(m.headers.empty());
    CHECK(m.query_params.empty());
    CHECK(m.method.empty());
  }
  CHECK(empty.rules[1].matches[0].path.type == PathMatch::Type::PathPrefix);
  CHECK(empty.rules[1].matches[1].path.type == PathMatch::Type::Exact);
  CHECK_FALSE(empty.rules[1].timeouts.request.has_value());
  REQUIRE(empty.rules[1].retry.has_value());  // retry: {} turns retries on with defaults
  CHECK(empty.rules[1].retry->codes.empty());
  CHECK_FALSE(empty.rules[1].retry->attempts.has_value());
  CHECK_FALSE(empty.rules[1].retry->backoff.has_value());

  const auto& no_spec = std::get<HttpRoute>(d.objects[2]);
  CHECK(no_spec.parents.empty());
  CHECK(no_spec.rules.size() == 1);
}

TEST_CASE("decoder reads a GRPCRoute, with weft's retry and timeouts") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: greeter, namespace: demo, creationTimestamp: "2024-05-01T12:00:00.123+02:00"}
spec:
  parentRefs: [{group: "", kind: Service, name: greeter, port: 9090}]
  hostnames: [greeter.demo]
  rules:
  - matches:
    - method: {service: helloworld.Greeter, method: SayHello}
      headers: [{name: X-Tenant, value: a}]
    - method: {type: RegularExpression, service: "helloworld\\..*"}
    - method: {method: Ping}
    - headers: [{type: RegularExpression, name: x-version, value: "v[0-9]"}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-route, value: greeter}]}
    backendRefs:
    - {name: greeter-v1, port: 9090, weight: 3}
    timeouts: {request: 1s, backendRequest: 300ms}
    retry: {codes: [UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED, UNAUTHENTICATED], attempts: 3,
            backoff: 25ms}
  - backendRefs: [{name: greeter, port: 9090}]
)");
  REQUIRE(d.objects.size() == 1);
  const auto& route = std::get<GrpcRoute>(d.objects[0]);
  CHECK(route.kind == Route::Kind::Grpc);
  CHECK(route.kind_name() == "GRPCRoute");
  // 12:00:00.123 at +02:00 is 10:00:00Z; the fraction is dropped.
  CHECK(route.created ==
        std::optional<std::chrono::sys_seconds>(
            std::chrono::sys_days(std::chrono::year(2024) / 5 / 1) + std::chrono::hours(10)));
  CHECK(route.parents.at(0).port == std::optional<uint16_t>(9090));
  CHECK(route.hostnames == std::vector<std::string>{"greeter.demo"});
  REQUIRE(route.rules.size() == 2);
  const GrpcRouteRule& rule = route.rules[0];
  REQUIRE(rule.matches.size() == 4);
  REQUIRE(rule.matches[0].method.has_value());
  CHECK(rule.matches[0].method->type == MatchType::Exact);
  CHECK(rule.matches[0].method->service == "helloworld.Greeter");
  CHECK(rule.matches[0].method->method == "SayHello");
  CHECK(rule.matches[0].method->service_regex == nullptr);
  CHECK(rule.matches[0].headers.at(0).name == "x-tenant");
  CHECK(rule.matches[1].method->type == MatchType::RegularExpression);
  REQUIRE(rule.matches[1].method->service_regex != nullptr);
  CHECK(RE2::FullMatch("helloworld.Greeter", *rule.matches[1].method->service_regex));
  CHECK(rule.matches[1].method->method_regex == nullptr);  // empty method: any
  CHECK(rule.matches[2].method->service.empty());
  CHECK(rule.matches[2].method->method == "Ping");
  CHECK_FALSE(rule.matches[3].method.has_value());
  CHECK(rule.matches[3].headers.at(0).regex != nullptr);
  CHECK(rule.request_headers->set.at(0).value == "greeter");
  CHECK(rule.backends.at(0).weight == 3);
  CHECK(rule.timeouts.request == std::optional<milliseconds>(1000));
  CHECK(rule.timeouts.backend_request == std::optional<milliseconds>(300));
  REQUIRE(rule.retry.has_value());
  // gRPC status codes by number: UNAVAILABLE 14, RESOURCE_EXHAUSTED 8, CANCELLED 1,
  // UNAUTHENTICATED 16.
  CHECK(rule.retry->codes == std::vector<uint16_t>{14, 8, 1, 16});
  CHECK(rule.retry->attempts == std::optional<uint32_t>(3));
  CHECK(rule.retry->backoff == std::optional<milliseconds>(25));
  // matches absent: one match of every call.
  REQUIRE(route.rules[1].matches.size() == 1);
  CHECK_FALSE(route.rules[1].matches[0].method.has_value());
  CHECK(route.rules[1].matches[0].headers.empty());
}

TEST_CASE("decoder applies a GRPCRoute's defaults: no rules means none") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g}
spec:
  parentRefs: [{group: "", kind: Service, name: greeter}]
)");
  const auto& route = std::get<GrpcRoute>(d.objects.at(0));
  CHECK(route.rules.empty());
  CHECK(route.parents.at(0).ns == "default");
}

TEST_CASE("decoder reads HTTPRouteList, GRPCRouteList and routes in kind List") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRouteList
items:
- metadata: {name: a}
- metadata: {name: b}
  spec: {rules: [{backendRefs: [{name: x, port: 1}]}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRouteList
items:
- metadata: {name: c}
---
apiVersion: v1
kind: List
items:
- {apiVersion: gateway.networking.k8s.io/v1, kind: GRPCRoute, metadata: {name: d}}
- {apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: {name: e}}
---
{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
 "metadata": {"name": "f", "namespace": "demo"},
 "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "echo"}],
          "rules": [{"backendRefs": [{"name": "echo", "port": 80, "weight": 5}]}]}}
)");
  REQUIRE(d.objects.size() == 5);
  CHECK(d.ignored == 1);
  CHECK(std::get<HttpRoute>(d.objects[0]).name == "a");
  CHECK(std::get<HttpRoute>(d.objects[1]).rules.at(0).backends.at(0).name == "x");
  CHECK(std::get<GrpcRoute>(d.objects[2]).name == "c");
  CHECK(std::get<GrpcRoute>(d.objects[3]).name == "d");
  CHECK(std::get<HttpRoute>(d.objects[4]).rules.at(0).backends.at(0).weight == 5);
}

TEST_CASE("decoder reads Gateway API durations (GEP-2257 test vectors)") {
  struct Case {
    std::string_view text;
    int64_t ms;
  };
  const Case valid[] = {
      {"0h", 0},
      {"0s", 0},
      {"0h0m0s", 0},
      {"1h", 3'600'000},
      {"30m", 1'800'000},
      {"10s", 10'000},
      {"500ms", 500},
      {"2h30m", 9'000'000},
      {"150m", 9'000'000},
      {"7230s", 7'230'000},
      {"1h30m10s", 5'410'000},
      {"10s30m1h", 5'410'000},
      {"100ms200ms300ms", 600},
      {"00060m", 3'600'000},
      {"1h2h20m10m", 12'600'000},
      {"99999h", int64_t{99'999} * 3'600'000},
  };
  for (const Case& c : valid) {
    std::string text =
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: "
        "{name: t}\nspec: {rules: [{timeouts: {request: \"" +
        std::string(c.text) + "\"}}]}\n";
    Decoded d = decode_ok(text);
    INFO(c.text);
    CHECK(std::get<HttpRoute>(d.objects.at(0)).rules.at(0).timeouts.request ==
          std::optional<milliseconds>(c.ms));
  }
  for (std::string_view bad : {"1", "1d", "1h30m10s20ms50h", "999999h", "1.5h", "-15m", "", "h",
                               "1H", "1 s", "1us", "10sec", "1h_"}) {
    std::string text =
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: "
        "{name: t}\nspec: {rules: [{timeouts: {request: \"" +
        std::string(bad) + "\"}}]}\n";
    CHECK(decode_error(text) ==
          "pods.yaml: document 1 (HTTPRoute default/t): spec.rules[0].timeouts.request: expected "
          "a Gateway API duration such as \"10s\", \"500ms\" or \"1h30m\" (1-4 parts of 1-5 "
          "digits and h, m, s or ms), got \"" +
              std::string(bad) + "\"");
  }
}

TEST_CASE("decoder compiles a route's regular expressions once; copies share them") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules: [{matches: [{path: {type: RegularExpression, value: "/a(/.*)?"}}]}]
)");
  const auto& route = std::get<HttpRoute>(d.objects.at(0));
  HttpRoute copy = route;
  REQUIRE(route.rules[0].matches[0].path.regex != nullptr);
  CHECK(copy.rules[0].matches[0].path.regex == route.rules[0].matches[0].path.regex);
  // RE2: a long text neither overflows the stack nor backtracks.
  std::string long_path = "/a/" + std::string(200'000, 'x');
  CHECK(RE2::FullMatch(long_path, *route.rules[0].matches[0].path.regex));
  Regex nested = compile_regex("(a*)*b").value();
  CHECK_FALSE(RE2::FullMatch(std::string(5'000, 'a'), *nested));
}

TEST_CASE("decoder bounds the regular expressions of one input") {
  std::string text =
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
      "spec:\n  rules:\n  - matches:\n";
  for (int i = 0; i < 30; ++i) {
    text += "    - path: {type: RegularExpression, value: \"/a{1000}\"}\n";
  }
  // 30 x 1005 instructions fit the default 200 000, not 20 000 (the 20th goes over).
  CHECK(decode_ok(text).objects.size() == 1);
  DecodeLimits small;
  small.max_regex_program_size = 20'000;
  CHECK(decode_error(text, small) ==
        "pods.yaml: document 1 (HTTPRoute default/r): spec.rules[0].matches[19].path.value: the "
        "regular expressions of this input compile to more than 20000 RE2 instructions; move "
        "some routes to another file");
  CHECK(
      decode_error("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: "
                   "{name: r}\nspec: {rules: [{matches: [{path: {type: RegularExpression, "
                   "value: \"(a{1000}){1000}\"}}]}]}\n") ==
      R"(pods.yaml: document 1 (HTTPRoute default/r): spec.rules[0].matches[0].path.value: regular expression "(a{1000}){1000}" is too large (invalid repetition size: {1000}); lower its {n,m} bounds)");
  // One expression's program is bounded even when every {n,m} is within RE2's own bound.
  std::string wide;
  for (int i = 0; i < 11; ++i) {
    wide += "[a-z]{1,1000}";
  }
  std::string message = decode_error(
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: "
      "{name: r}\nspec: {rules: [{matches: [{path: {type: RegularExpression, "
      "value: \"" +
      wide + "\"}}]}]}\n");
  CHECK(
      message.starts_with("pods.yaml: document 1 (HTTPRoute default/r): "
                          "spec.rules[0].matches[0].path.value: regular expression \"" +
                          wide.substr(0, 64) + "...\" is too large (RE2 program of "));
  CHECK(message.ends_with(" instructions, at most 20000); lower its {n,m} bounds"));
  // Nested bounds are refused, however large.
  CHECK(decode_error("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: "
                     "{name: r}\nspec: {rules: [{matches: [{path: {type: RegularExpression, "
                     "value: \"((a{99999}){99999}){99999}{99999}{99999}\"}}]}]}\n")
            .find("is too large (invalid repetition size: {99999})") != std::string::npos);
}

constexpr std::string_view kRouteHead =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: web, namespace: demo}\n";

/// "[x, x, ...]" with `n` copies of `item`.
std::string repeated(std::string_view item, int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    out += (i == 0 ? "" : ", ") + std::string(item);
  }
  return out + "]";
}

TEST_CASE("decoder rejects every malformed HTTPRoute field with its path") {
  const std::string rule_names =
      "name, matches, filters, backendRefs, timeouts, retry, sessionPersistence";
  const std::string bad_value =
      "expected a header value without control characters or "
      "whitespace at either end, got ";
  struct Case {
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      // metadata and spec
      {"metadata: {name: web, namespace: demo, creationTimestamp: yesterday}",
       R"(metadata.creationTimestamp: expected an RFC 3339 time such as "2024-05-01T12:00:00Z", got "yesterday")"},
      {"metadata: {name: web, namespace: demo, creationTimestamp: \"2024-02-30T00:00:00Z\"}",
       R"(metadata.creationTimestamp: expected an RFC 3339 time such as "2024-05-01T12:00:00Z", got "2024-02-30T00:00:00Z")"},
      {"spec: {useDefaultGateways: All}",
       R"(spec["useDefaultGateways"]: unknown field (expected one of: parentRefs, hostnames, rules))"},
      {"spec: {}\nextra: 1",
       R"(["extra"]: unknown field (expected one of: apiVersion, kind, metadata, spec, status))"},
      {"spec: [1]", "spec: expected a map, got a list"},
      // parentRefs
      {"spec: {parentRefs: [{kind: Service}]}", "spec.parentRefs[0].name: required"},
      {"spec: {parentRefs: [{name: Echo}]}",
       R"(spec.parentRefs[0].name: expected a DNS-1123 name (lowercase letters, digits, '-', '.'), got "Echo")"},
      {"spec: {parentRefs: [{name: e, group: \"Core!\"}]}",
       R"(spec.parentRefs[0].group: expected an API group ("" or a DNS-1123 subdomain), got "Core!")"},
      {"spec: {parentRefs: [{name: e, kind: 1Service}]}",
       R"(spec.parentRefs[0].kind: expected a kind (letters, digits, '-'), got "1Service")"},
      {"spec: {parentRefs: [{name: e, namespace: Demo}]}",
       R"(spec.parentRefs[0].namespace: expected a DNS-1123 label, got "Demo")"},
      {"spec: {parentRefs: [{name: e, port: 0}]}",
       "spec.parentRefs[0].port: expected an integer 1-65535, got 0"},
      {"spec: {parentRefs: [{name: e, sectionName: HTTP}]}",
       R"(spec.parentRefs[0].sectionName: expected a DNS-1123 name (lowercase letters, digits, '-', '.'), got "HTTP")"},
      {"spec: {parentRefs: [{name: e, prot: 80}]}",
       R"(spec.parentRefs[0]["prot"]: unknown field (expected one of: group, kind, namespace, name, sectionName, port))"},
      {"spec: {parentRefs: " + repeated("{name: e}", 33) + "}",
       "spec.parentRefs: at most 32 entries, got 33"},
      {"spec: {parentRefs: {name: e}}", "spec.parentRefs: expected a list, got a map"},
      // hostnames
      {"spec: {hostnames: [Echo.Example.com]}",
       R"(spec.hostnames[0]: expected a hostname such as "example.com" or "*.example.com" (lowercase, not an IP address), got "Echo.Example.com")"},
      {"spec: {hostnames: [10.0.0.1]}",
       R"(spec.hostnames[0]: expected a hostname such as "example.com" or "*.example.com" (lowercase, not an IP address), got "10.0.0.1")"},
      {"spec: {hostnames: [\"*\"]}",
       R"(spec.hostnames[0]: expected a hostname such as "example.com" or "*.example.com" (lowercase, not an IP address), got "*")"},
      {"spec: {hostnames: [\"a.*.com\"]}",
       R"(spec.hostnames[0]: expected a hostname such as "example.com" or "*.example.com" (lowercase, not an IP address), got "a.*.com")"},
      {"spec: {hostnames: [\"\"]}", "spec.hostnames[0]: required"},
      {"spec: {hostnames: " + repeated("a.com", 17) + "}",
       "spec.hostnames: at most 16 entries, got 17"},
      // rules
      {"spec: {rules: []}",
       "spec.rules: at least one rule required (omit rules for the default rule)"},
      {"spec: {rules: " + repeated("{}", 17) + "}", "spec.rules: at most 16 entries, got 17"},
      {"spec: {rules: [{matches: " + repeated("{}", 65) + "}]}",
       "spec.rules[0].matches: at most 64 entries, got 65"},
      {"spec: {rules: [{matches: " + repeated("{}", 64) + "}, {matches: " + repeated("{}", 64) +
           "}, {matches: [{}]}]}",
       "spec.rules: at most 128 matches across all rules, got 129"},
      {"spec: {rules: [{backendRef: [{name: e, port: 80}]}]}",
       R"(spec.rules[0]["backendRef"]: unknown field (expected one of: )" + rule_names + ")"},
      {"spec: {rules: [{sessionPersistence: {sessionName: s}}]}",
       "spec.rules[0].sessionPersistence: not supported by weft"},
      {"spec: {rules: [{name: Canary}]}",
       R"(spec.rules[0].name: expected a DNS-1123 name (lowercase letters, digits, '-', '.'), got "Canary")"},
      {"spec: {rules: [{name: a}, {name: b}, {name: a}]}",
       R"(spec.rules[2].name: duplicate rule name "a")"},
      // path
      {"spec: {rules: [{matches: [{path: {type: Prefix, value: /a}}]}]}",
       R"(spec.rules[0].matches[0].path.type: expected Exact, PathPrefix or RegularExpression, got "Prefix")"},
      {"spec: {rules: [{matches: [{path: {value: api}}]}]}",
       R"(spec.rules[0].matches[0].path.value: expected an absolute path starting with "/", got "api")"},
      {"spec: {rules: [{matches: [{path: {type: Exact, value: \"\"}}]}]}",
       R"(spec.rules[0].matches[0].path.value: expected an absolute path starting with "/", got "")"},
      {"spec: {rules: [{matches: [{path: {value: /a//b}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not contain "//", got "/a//b")"},
      {"spec: {rules: [{matches: [{path: {value: /a/./b}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not contain "/./", got "/a/./b")"},
      {"spec: {rules: [{matches: [{path: {value: /a/../b}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not contain "/../", got "/a/../b")"},
      {"spec: {rules: [{matches: [{path: {value: /a%2fb}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not contain "%2f", got "/a%2fb")"},
      {"spec: {rules: [{matches: [{path: {type: Exact, value: /a%2Fb}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not contain "%2F", got "/a%2Fb")"},
      {"spec: {rules: [{matches: [{path: {value: \"/a#b\"}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not contain "#", got "/a#b")"},
      {"spec: {rules: [{matches: [{path: {value: /a/..}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not end with "/..", got "/a/..")"},
      {"spec: {rules: [{matches: [{path: {value: /a/.}}]}]}",
       R"(spec.rules[0].matches[0].path.value: must not end with "/.", got "/a/.")"},
      {"spec: {rules: [{matches: [{path: {value: \"/a b\"}}]}]}",
       R"(spec.rules[0].matches[0].path.value: may only hold letters, digits, -/._~!$&'()*+,;=:@ and %XX escapes, got "/a b")"},
      {"spec: {rules: [{matches: [{path: {value: \"/a?b=1\"}}]}]}",
       R"(spec.rules[0].matches[0].path.value: may only hold letters, digits, -/._~!$&'()*+,;=:@ and %XX escapes, got "/a?b=1")"},
      {"spec: {rules: [{matches: [{path: {value: /a%zz}}]}]}",
       R"(spec.rules[0].matches[0].path.value: has a '%' not followed by two hex digits, got "/a%zz")"},
      {"spec: {rules: [{matches: [{path: {value: /" + std::string(1024, 'a') + "}}]}]}",
       "spec.rules[0].matches[0].path.value: at most 1024 bytes, got 1025"},
      {"spec: {rules: [{matches: [{path: {type: RegularExpression, value: \"(a)\\\\1\"}}]}]}",
       R"(spec.rules[0].matches[0].path.value: invalid RE2 regular expression "(a)\\1": invalid escape sequence: \\1)"},
      {"spec: {rules: [{matches: [{path: {value: /, match: all}}]}]}",
       R"(spec.rules[0].matches[0].path["match"]: unknown field (expected one of: type, value))"},
      // headers
      {"spec: {rules: [{matches: [{headers: [{name: \"x header\", value: a}]}]}]}",
       R"(spec.rules[0].matches[0].headers[0].name: expected an HTTP header name (1-256 letters, digits and !#$%&'*+-.^_`|~), got "x header")"},
      {"spec: {rules: [{matches: [{headers: [{name: \":path\", value: a}]}]}]}",
       R"(spec.rules[0].matches[0].headers[0].name: expected an HTTP header name (1-256 letters, digits and !#$%&'*+-.^_`|~), got ":path")"},
      {"spec: {rules: [{matches: [{headers: [{value: a}]}]}]}",
       "spec.rules[0].matches[0].headers[0].name: required"},
      {"spec: {rules: [{matches: [{headers: [{name: a}]}]}]}",
       "spec.rules[0].matches[0].headers[0].value: required"},
      {"spec: {rules: [{matches: [{headers: [{name: a, value: " + std::string(4097, 'v') +
           "}]}]}]}",
       "spec.rules[0].matches[0].headers[0].value: at most 4096 bytes, got 4097"},
      {"spec: {rules: [{matches: [{headers: [{type: Prefix, name: a, value: b}]}]}]}",
       R"(spec.rules[0].matches[0].headers[0].type: expected Exact or RegularExpression, got "Prefix")"},
      {"spec: {rules: [{matches: [{headers: [{name: a, value: b}, {name: a, value: c}]}]}]}",
       R"(spec.rules[0].matches[0].headers[1].name: duplicate name "a")"},
      {"spec: {rules: [{matches: [{headers: [{name: a, value: b, exact: true}]}]}]}",
       R"(spec.rules[0].matches[0].headers[0]["exact"]: unknown field (expected one of: type, name, value))"},
      {"spec: {rules: [{matches: [{headers: " + repeated("{name: a, value: b}", 17) + "}]}]}",
       "spec.rules[0].matches[0].headers: at most 16 entries, got 17"},
      // queryParams and method
      {"spec: {rules: [{matches: [{queryParams: [{name: \"a=b\", value: c}]}]}]}",
       R"(spec.rules[0].matches[0].queryParams[0].name: expected a query parameter name (1-256 letters, digits and !#$%&'*+-.^_`|~), got "a=b")"},
      {"spec: {rules: [{matches: [{queryParams: [{name: a, value: " + std::string(1025, 'v') +
           "}]}]}]}",
       "spec.rules[0].matches[0].queryParams[0].value: at most 1024 bytes, got 1025"},
      {"spec: {rules: [{matches: [{queryParams: [{name: a, value: b}, {name: a, value: c}]}]}]}",
       R"(spec.rules[0].matches[0].queryParams[1].name: duplicate name "a")"},
      {"spec: {rules: [{matches: [{queryParams: [{type: RegularExpression, name: a, value: "
       "\"[\"}]}]}]}",
       R"(spec.rules[0].matches[0].queryParams[0].value: invalid RE2 regular expression "[": missing ]: [)"},
      {"spec: {rules: [{matches: [{method: get}]}]}",
       R"(spec.rules[0].matches[0].method: expected GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE or PATCH, got "get")"},
      {"spec: {rules: [{matches: [{host: a.com}]}]}",
       R"(spec.rules[0].matches[0]["host"]: unknown field (expected one of: path, headers, queryParams, method))"},
      // filters
      {"spec: {rules: [{filters: [{type: URLRewrite, urlRewrite: {hostname: a}}]}]}",
       R"(spec.rules[0].filters[0].type: unsupported filter type "URLRewrite" (weft supports RequestHeaderModifier and ResponseHeaderModifier))"},
      {"spec: {rules: [{filters: [{type: RequestMirror}]}]}",
       R"(spec.rules[0].filters[0].type: unsupported filter type "RequestMirror" (weft supports RequestHeaderModifier and ResponseHeaderModifier))"},
      {"spec: {rules: [{filters: [{requestHeaderModifier: {}}]}]}",
       "spec.rules[0].filters[0].type: required"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier}]}]}",
       "spec.rules[0].filters[0].requestHeaderModifier: required when type is "
       "RequestHeaderModifier"},
      {"spec: {rules: [{filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {}, "
       "requestHeaderModifier: {}}]}]}",
       "spec.rules[0].filters[0].requestHeaderModifier: must be absent when type is "
       "ResponseHeaderModifier"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}}, "
       "{type: RequestHeaderModifier, requestHeaderModifier: {}}]}]}",
       "spec.rules[0].filters[1].type: RequestHeaderModifier filter cannot be repeated"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}, "
       "urlRewrite: {}}]}]}",
       R"(spec.rules[0].filters[0]["urlRewrite"]: unknown field (expected one of: type, requestHeaderModifier, responseHeaderModifier))"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{set: [{name: a}]}}]}]}",
       "spec.rules[0].filters[0].requestHeaderModifier.set[0].value: required"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{add: [{name: \"a b\", value: c}]}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier.add[0].name: expected an HTTP header name (1-256 letters, digits and !#$%&'*+-.^_`|~), got "a b")"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{set: [{name: a, value: \"x\\r\\nevil: 1\"}]}}]}]}",
       "spec.rules[0].filters[0].requestHeaderModifier.set[0].value: " + bad_value +
           R"("x\x0d\nevil: 1")"},
      {"spec: {rules: [{filters: [{type: ResponseHeaderModifier, responseHeaderModifier: "
       "{add: [{name: a, value: \" x\"}]}}]}]}",
       "spec.rules[0].filters[0].responseHeaderModifier.add[0].value: " + bad_value + R"(" x")"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{set: [{name: X-A, value: b}], remove: [x-a]}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier.remove[0]: header "x-a" appears more than once in this filter (names are case-insensitive))"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{add: [{name: a, value: b}, {name: A, value: c}]}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier.add[1].name: header "A" appears more than once in this filter (names are case-insensitive))"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{remove: [Connection]}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier.remove[0]: "Connection" is managed by the proxy and cannot be modified)"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{set: [{name: Content-Length, value: \"1\"}]}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier.set[0].name: "Content-Length" is managed by the proxy and cannot be modified)"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{append: []}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier["append"]: unknown field (expected one of: set, add, remove))"},
      {"spec: {rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
       "{set: [{name: a, value: b, append: true}]}}]}]}",
       R"(spec.rules[0].filters[0].requestHeaderModifier.set[0]["append"]: unknown field (expected one of: name, value))"},
      {"spec: {rules: [{filters: " + repeated("{type: URLRewrite}", 17) + "}]}",
       "spec.rules[0].filters: at most 16 entries, got 17"},
      // backendRefs
      {"spec: {rules: [{backendRefs: [{port: 80}]}]}",
       "spec.rules[0].backendRefs[0].name: required"},
      {"spec: {rules: [{backendRefs: [{name: echo}]}]}",
       "spec.rules[0].backendRefs[0].port: required for a Service backend"},
      {"spec: {rules: [{backendRefs: [{name: echo, group: core, kind: Service}]}]}",
       "spec.rules[0].backendRefs[0].port: required for a Service backend"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 70000}]}]}",
       "spec.rules[0].backendRefs[0].port: expected an integer 1-65535, got 70000"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 80, weight: -1}]}]}",
       "spec.rules[0].backendRefs[0].weight: expected an integer 0-1000000, got -1"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 80, weight: 1000001}]}]}",
       "spec.rules[0].backendRefs[0].weight: expected an integer 0-1000000, got 1000001"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 80, weight: \"10\"}]}]}",
       R"(spec.rules[0].backendRefs[0].weight: expected an integer 0-1000000, got "10")"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 80, namespace: a_b}]}]}",
       R"(spec.rules[0].backendRefs[0].namespace: expected a DNS-1123 label, got "a_b")"},
      {"spec: {rules: [{backendRefs: [{name: echo, kind: \"Ser vice\"}]}]}",
       R"(spec.rules[0].backendRefs[0].kind: expected a kind (letters, digits, '-'), got "Ser vice")"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 80, filters: [{type: "
       "RequestHeaderModifier}]}]}]}",
       "spec.rules[0].backendRefs[0].filters: not supported by weft; put the filters on the "
       "rule"},
      {"spec: {rules: [{backendRefs: [{name: echo, port: 80, weigth: 1}]}]}",
       R"(spec.rules[0].backendRefs[0]["weigth"]: unknown field (expected one of: group, kind, name, namespace, port, weight, filters))"},
      {"spec: {rules: [{backendRefs: " + repeated("{name: e, port: 1}", 17) + "}]}",
       "spec.rules[0].backendRefs: at most 16 entries, got 17"},
      // timeouts and retry
      {"spec: {rules: [{timeouts: {request: 10}}]}",
       R"(spec.rules[0].timeouts.request: expected a Gateway API duration such as "10s", "500ms" or "1h30m" (1-4 parts of 1-5 digits and h, m, s or ms), got "10")"},
      {"spec: {rules: [{timeouts: {request: 1s, backendRequest: 2s}}]}",
       "spec.rules[0].timeouts.backendRequest: cannot be longer than the request timeout"},
      {"spec: {rules: [{timeouts: {idle: 1s}}]}",
       R"(spec.rules[0].timeouts["idle"]: unknown field (expected one of: request, backendRequest))"},
      {"spec: {rules: [{retry: {codes: [200]}}]}",
       "spec.rules[0].retry.codes[0]: expected an HTTP status code 400-599, got 200"},
      {"spec: {rules: [{retry: {codes: [\"503\"]}}]}",
       R"(spec.rules[0].retry.codes[0]: expected an HTTP status code 400-599, got "503")"},
      {"spec: {rules: [{retry: {codes: [UNAVAILABLE]}}]}",
       R"(spec.rules[0].retry.codes[0]: expected an HTTP status code 400-599, got "UNAVAILABLE")"},
      {"spec: {rules: [{retry: {codes: [503, 500, 503]}}]}",
       R"(spec.rules[0].retry.codes[2]: duplicate code "503")"},
      {"spec: {rules: [{retry: {codes: [null]}}]}", "spec.rules[0].retry.codes[0]: required"},
      {"spec: {rules: [{retry: {attempts: 0}}]}",
       "spec.rules[0].retry.attempts: expected an integer 1-2147483647, got 0"},
      {"spec: {rules: [{retry: {backoff: 1.5s}}]}",
       R"(spec.rules[0].retry.backoff: expected a Gateway API duration such as "10s", "500ms" or "1h30m" (1-4 parts of 1-5 digits and h, m, s or ms), got "1.5s")"},
      {"spec: {rules: [{retry: {perTryTimeout: 1s}}]}",
       R"(spec.rules[0].retry["perTryTimeout"]: unknown field (expected one of: codes, attempts, backoff))"},
  };
  for (const Case& c : cases) {
    std::string text = std::string(kRouteHead) + c.body + "\n";
    if (c.body.starts_with("metadata:")) {
      text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" + c.body + "\n";
    }
    std::string message = decode_error(text);
    std::string expected = "pods.yaml: document 1 (HTTPRoute demo/web): " + c.message;
    // A message that ends with ": " is checked up to there.
    if (c.message.ends_with(": ")) {
      CHECK(message.starts_with(expected));
    } else {
      CHECK(message == expected);
    }
  }
}

TEST_CASE("decoder rejects every malformed GRPCRoute field with its path") {
  constexpr std::string_view kHead =
      "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
      "metadata: {name: greeter, namespace: demo}\n";
  const std::string names =
      "CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, "
      "PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, "
      "UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED";
  struct Case {
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      {"spec: {rules: [{matches: [{method: {}}]}]}",
       "spec.rules[0].matches[0].method: service or method (or both) required"},
      {"spec: {rules: [{matches: [{method: {type: Exact, service: \"\", method: \"\"}}]}]}",
       "spec.rules[0].matches[0].method: service or method (or both) required"},
      {"spec: {rules: [{matches: [{method: {service: helloworld/Greeter}}]}]}",
       R"(spec.rules[0].matches[0].method.service: expected a gRPC service name such as "helloworld.Greeter", got "helloworld/Greeter")"},
      {"spec: {rules: [{matches: [{method: {service: hello..world}}]}]}",
       R"(spec.rules[0].matches[0].method.service: expected a gRPC service name such as "helloworld.Greeter", got "hello..world")"},
      {"spec: {rules: [{matches: [{method: {service: 1hello}}]}]}",
       R"(spec.rules[0].matches[0].method.service: expected a gRPC service name such as "helloworld.Greeter", got "1hello")"},
      {"spec: {rules: [{matches: [{method: {method: Say.Hello}}]}]}",
       R"(spec.rules[0].matches[0].method.method: expected a gRPC method name such as "SayHello", got "Say.Hello")"},
      {"spec: {rules: [{matches: [{method: {type: Prefix, method: Say}}]}]}",
       R"(spec.rules[0].matches[0].method.type: expected Exact or RegularExpression, got "Prefix")"},
      {"spec: {rules: [{matches: [{method: {type: RegularExpression, method: \"(\"}}]}]}",
       R"(spec.rules[0].matches[0].method.method: invalid RE2 regular expression "(": missing ): ()"},
      {"spec: {rules: [{matches: [{method: {method: " + std::string(1025, 'a') + "}}]}]}",
       "spec.rules[0].matches[0].method.method: at most 1024 bytes, got 1025"},
      {"spec: {rules: [{matches: [{method: {method: Say, name: SayHello}}]}]}",
       R"(spec.rules[0].matches[0].method["name"]: unknown field (expected one of: type, service, method))"},
      {"spec: {rules: [{matches: [{path: {value: /}}]}]}",
       R"(spec.rules[0].matches[0]["path"]: unknown field (expected one of: method, headers))"},
      {"spec: {rules: [{matches: [{headers: [{name: a, value: b}, {name: a, value: b}]}]}]}",
       R"(spec.rules[0].matches[0].headers[1].name: duplicate name "a")"},
      {"spec: {rules: [{filters: [{type: RequestMirror, requestMirror: {}}]}]}",
       R"(spec.rules[0].filters[0].type: unsupported filter type "RequestMirror" (weft supports RequestHeaderModifier and ResponseHeaderModifier))"},
      {"spec: {rules: [{retry: {codes: [unavailable]}}]}",
       "spec.rules[0].retry.codes[0]: expected a gRPC status name (" + names +
           R"(), got "unavailable")"},
      {"spec: {rules: [{retry: {codes: [OK]}}]}",
       "spec.rules[0].retry.codes[0]: expected a gRPC status name (" + names + R"(), got "OK")"},
      {"spec: {rules: [{retry: {codes: [14]}}]}",
       "spec.rules[0].retry.codes[0]: expected a gRPC status name (" + names + R"(), got "14")"},
      {"spec: {rules: [{retry: {codes: [UNAVAILABLE, UNAVAILABLE]}}]}",
       R"(spec.rules[0].retry.codes[1]: duplicate code "UNAVAILABLE")"},
      {"spec: {rules: [{timeouts: {request: 100ms, backendRequest: 1s}}]}",
       "spec.rules[0].timeouts.backendRequest: cannot be longer than the request timeout"},
      {"spec: {rules: [{backendRefs: [{name: greeter}]}]}",
       "spec.rules[0].backendRefs[0].port: required for a Service backend"},
      {"spec: {rules: [{sessionPersistence: {type: Cookie}}]}",
       "spec.rules[0].sessionPersistence: not supported by weft"},
      {"spec: {rules: [{matches: [], backendRef: []}]}",
       R"(spec.rules[0]["backendRef"]: unknown field (expected one of: name, matches, filters, backendRefs, timeouts, retry, sessionPersistence))"},
  };
  for (const Case& c : cases) {
    std::string message = decode_error(std::string(kHead) + c.body + "\n");
    std::string expected = "pods.yaml: document 1 (GRPCRoute demo/greeter): " + c.message;
    if (c.message.ends_with(": ")) {
      CHECK(message.starts_with(expected));
    } else {
      CHECK(message == expected);
    }
  }
}

TEST_CASE("decoder accepts the edge values of route fields") {
  Decoded d = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: edges, creationTimestamp: "2024-12-31T23:59:59-01:30"}
spec:
  hostnames: ["*.a.b", x]
  rules:
  - matches:
    - path: {type: Exact, value: "/a-b_c~d/%41;x=1,y@z:w"}
      queryParams: [{name: q, value: " spaced "}]
    - method: PATCH
    backendRefs:
    - {name: e, port: 65535, weight: 0}
    - {name: e, port: 1, weight: 1000000}
    timeouts: {request: 0s, backendRequest: 99999h}
    retry: {codes: [400, 599], attempts: 2147483647, backoff: 0s}
)");
  const auto& route = std::get<HttpRoute>(d.objects.at(0));
  CHECK(route.created == std::optional<std::chrono::sys_seconds>(
                             std::chrono::sys_days(std::chrono::year(2025) / 1 / 1) +
                             std::chrono::minutes(89) + std::chrono::seconds(59)));
  const HttpRouteRule& rule = route.rules.at(0);
  CHECK(rule.matches.at(0).path.value == "/a-b_c~d/%41;x=1,y@z:w");
  CHECK(rule.matches.at(0).query_params.at(0).value == " spaced ");
  CHECK(rule.backends.at(1).weight == 1'000'000);
  // request "0s" disables the request timeout, so backendRequest may be anything.
  CHECK(rule.timeouts.request == std::optional<milliseconds>(0));
  CHECK(rule.retry->attempts == std::optional<uint32_t>(2'147'483'647));
  CHECK(rule.retry->backoff == std::optional<milliseconds>(0));
}

}  // namespace
}  // namespace weft::discovery
