#include "agent/discovery/ManifestDecoder.hpp"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

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
  CHECK(d.ignored == 4);
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

}  // namespace
}  // namespace weft::discovery
