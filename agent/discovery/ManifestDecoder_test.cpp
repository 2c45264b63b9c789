#include "agent/discovery/ManifestDecoder.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "agent/discovery/DecoderTesting.hpp"
#include "l7/Regex.hpp"

namespace weft::discovery {
namespace {

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
  Document doc =
      parse_json("watch event 3", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}})")
          .value();
  auto ok = decode_object(*doc.roots()[0], "watch event 3");
  REQUIRE(ok.has_value());
  CHECK(std::get<Pod>(ok->objects.at(0)).name == "p");
  Document bad =
      parse_yaml("watch event 4", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"P"}})")
          .value();
  auto err = decode_object(*bad.roots()[0], "watch event 4");
  REQUIRE_FALSE(err.has_value());
  CHECK(err.error().message.starts_with("watch event 4 (Pod): metadata.name: expected a DNS-1123"));
}

/// One object written in YAML and in JSON.
struct SameObject {
  std::string_view yaml;
  std::string_view json;
};

/// Every kind, most fields set.
constexpr SameObject kSameObjects[] = {
    {R"(
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo, labels: {version: 1, canary: true, empty: null}}
spec:
  clusterIP: 10.96.0.60
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}, {name: grpc, port: 9090}]
)",
     R"({"apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "echo", "namespace": "demo",
               "labels": {"version": 1, "canary": true, "empty": null}},
  "spec": {"clusterIP": "10.96.0.60",
           "ports": [{"name": "http", "port": 80, "targetPort": 8080, "appProtocol": "http"},
                     {"name": "grpc", "port": 9090}]}})"},
    {R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-abc, namespace: demo, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
endpoints:
- addresses: [10.0.0.5]
  conditions: {ready: false}
  targetRef: {kind: Pod, name: echo-1}
  nodeName: node-a
ports: [{name: http, port: 8080, protocol: TCP}]
)",
     R"({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "echo-abc", "namespace": "demo",
               "labels": {"kubernetes.io/service-name": "echo"}},
  "addressType": "IPv4",
  "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": false},
                 "targetRef": {"kind": "Pod", "name": "echo-1"}, "nodeName": "node-a"}],
  "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})"},
    {R"(
apiVersion: v1
kind: Pod
metadata:
  name: echo-1
  namespace: demo
  uid: 1234
  ownerReferences: [{kind: ReplicaSet, name: echo-7d9f, controller: true}]
spec: {serviceAccountName: echo, nodeName: node-a}
status: {podIP: 10.0.0.5, podIPs: [{ip: 10.0.0.5}, {ip: "fd00::5"}]}
)",
     R"({"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "echo-1", "namespace": "demo", "uid": "1234",
               "ownerReferences": [{"kind": "ReplicaSet", "name": "echo-7d9f",
                                    "controller": true}]},
  "spec": {"serviceAccountName": "echo", "nodeName": "node-a"},
  "status": {"podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}]}})"},
    {R"(
apiVersion: security.weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: callers, namespace: demo}
spec:
  selector: {matchLabels: {app: echo}}
  mode: STRICT
  allow: {principals: ["spiffe://cluster.local/ns/demo/sa/client"], namespaces: [team-a]}
)",
     R"({"apiVersion": "security.weft.io/v1alpha1", "kind": "MeshPolicy",
  "metadata": {"name": "callers", "namespace": "demo"},
  "spec": {"selector": {"matchLabels": {"app": "echo"}}, "mode": "STRICT",
           "allow": {"principals": ["spiffe://cluster.local/ns/demo/sa/client"],
                     "namespaces": ["team-a"]}}})"},
    {R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: canary, namespace: demo, creationTimestamp: "2024-05-01T12:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
  hostnames: [echo.example.com]
  rules:
  - name: canary
    matches: [{path: {type: Exact, value: /v2}, headers: [{name: X-Canary, value: "true"}],
               queryParams: [{name: a, value: b}], method: GET}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: b}]}}]
    backendRefs: [{name: echo-v2, port: 80, weight: 90}, {name: echo-v1, port: 80, weight: 10}]
    timeouts: {request: 10s, backendRequest: 3s}
    retry: {codes: [502, 503], attempts: 2, backoff: 100ms}
)",
     R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
  "metadata": {"name": "canary", "namespace": "demo",
               "creationTimestamp": "2024-05-01T12:00:00Z"},
  "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "echo", "port": 80}],
           "hostnames": ["echo.example.com"],
           "rules": [{"name": "canary",
                      "matches": [{"path": {"type": "Exact", "value": "/v2"},
                                   "headers": [{"name": "X-Canary", "value": "true"}],
                                   "queryParams": [{"name": "a", "value": "b"}],
                                   "method": "GET"}],
                      "filters": [{"type": "RequestHeaderModifier",
                                   "requestHeaderModifier": {"set": [{"name": "x-a",
                                                                      "value": "b"}]}}],
                      "backendRefs": [{"name": "echo-v2", "port": 80, "weight": 90},
                                      {"name": "echo-v1", "port": 80, "weight": 10}],
                      "timeouts": {"request": "10s", "backendRequest": "3s"},
                      "retry": {"codes": [502, 503], "attempts": 2, "backoff": "100ms"}}]}})"},
    {R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: greeter, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: greeter}]
  rules:
  - matches: [{method: {service: helloworld.Greeter, method: SayHello}}]
    backendRefs: [{name: greeter-v2, port: 9090}]
    retry: {codes: [UNAVAILABLE], attempts: 3}
)",
     R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
  "metadata": {"name": "greeter", "namespace": "demo"},
  "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "greeter"}],
           "rules": [{"matches": [{"method": {"service": "helloworld.Greeter",
                                              "method": "SayHello"}}],
                      "backendRefs": [{"name": "greeter-v2", "port": 9090}],
                      "retry": {"codes": ["UNAVAILABLE"], "attempts": 3}}]}})"},
};

TEST_CASE("decode_json and decode_manifests decode one object in JSON and in YAML alike") {
  for (const SameObject& c : kSameObjects) {
    Decoded from_yaml = decode_ok(c.yaml);
    auto from_json = decode_json("test.json", c.json);
    INFO(c.json);
    REQUIRE_MESSAGE(from_json.has_value(), (from_json ? std::string() : from_json.error().message));
    REQUIRE(from_yaml.objects.size() == 1);
    CHECK(from_json->objects == from_yaml.objects);
    CHECK(from_json->ignored == from_yaml.ignored);
  }
}

TEST_CASE("decode_json compiles regular expressions as decode_manifests does") {
  Decoded from_yaml = decode_ok(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec: {rules: [{matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]}]}
)");
  auto from_json = decode_json("test.json", R"({"apiVersion": "gateway.networking.k8s.io/v1",
  "kind": "HTTPRoute", "metadata": {"name": "r"},
  "spec": {"rules": [{"matches": [{"path": {"type": "RegularExpression",
                                            "value": "/items/[0-9]+"}}]}]}})");
  REQUIRE(from_json.has_value());
  const PathMatch& a = std::get<HttpRoute>(from_yaml.objects.at(0)).rules.at(0).matches.at(0).path;
  const PathMatch& b = std::get<HttpRoute>(from_json->objects.at(0)).rules.at(0).matches.at(0).path;
  REQUIRE(a.regex != nullptr);
  REQUIRE(b.regex != nullptr);
  CHECK(a.value == b.value);
  CHECK(l7::regex_full_match(b.regex, "/items/42"));
  CHECK_FALSE(l7::regex_full_match(b.regex, "/items/x"));
}

TEST_CASE("decode_json reports a type error with its field path") {
  struct Case {
    std::string_view json;
    std::string_view message;
  };
  const Case cases[] = {
      // A JSON string is not a number, as "80" quoted in YAML is not.
      {R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "demo"},
  "spec": {"ports": [{"name": "http", "port": "80"}]}})",
       R"(GET /api/v1/services (Service demo/echo): spec.ports[0].port: expected an integer 1-65535, got "80")"},
      {R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
  "spec": {"ports": [{"name": "http", "port": 80.0}]}})",
       R"(GET /api/v1/services (Service default/echo): spec.ports[0].port: expected an integer 1-65535, got "80.0")"},
      {R"({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "s"},
  "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": "true"}}]})",
       R"(GET /api/v1/services (EndpointSlice default/s): endpoints[0].conditions.ready: expected true or false, got "true")"},
      {R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": ["b"]}}})",
       R"(GET /api/v1/services (Pod default/p): metadata.labels["a"]: expected a string, got a list)"},
      {R"({"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "ok"}},
  {"metadata": {"name": "p"}, "status": {"podIP": 10}}]})",
       R"(GET /api/v1/services items[1] (Pod default/p): status.podIP: expected an IP address, got "10")"},
      // Two equal keys: JSON leaves the meaning open, a security object may not.
      {R"({"apiVersion": "security.weft.io/v1alpha1", "kind": "MeshPolicy", "metadata": {"name": "p"},
  "spec": {"mode": "STRICT", "mode": "PERMISSIVE"}})",
       R"(GET /api/v1/services (MeshPolicy default/p): spec.mode: duplicate field)"},
  };
  for (const Case& c : cases) {
    auto result = decode_json("GET /api/v1/services", c.json);
    INFO(c.json);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == Error::Kind::Protocol);
    CHECK(result.error().message == c.message);
  }
}

TEST_CASE("decode_json refuses invalid, deep and large JSON with clear errors") {
  auto invalid = decode_json("watch", R"({"apiVersion": "v1", "kind": })");
  REQUIRE_FALSE(invalid.has_value());
  CHECK(invalid.error().message.starts_with(
      "watch: invalid JSON: parse error at line 1, column 30: syntax error while parsing value"));
  auto two = decode_json("watch", R"({"kind": "Pod"} {"kind": "Pod"})");
  REQUIRE_FALSE(two.has_value());
  CHECK(two.error().message.starts_with("watch: invalid JSON: parse error at line 1, column 17"));
  std::string deep = std::string(3000, '[') + std::string(3000, ']');
  auto nested = decode_json("watch", deep);
  REQUIRE_FALSE(nested.has_value());
  CHECK(nested.error().message == "watch: invalid JSON: nested deeper than 2000 levels");
  DecodeLimits small;
  small.max_nodes = 10;
  auto large = decode_json("watch", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", small);
  REQUIRE_FALSE(large.has_value());
  CHECK(large.error().message == "watch: too large: more than 10 JSON values");
  small.max_bytes = 4;
  auto bytes = decode_json("watch", "[1, 2]", small);
  REQUIRE_FALSE(bytes.has_value());
  CHECK(bytes.error().message == "watch: 6 bytes is more than the limit of 4 bytes");
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

TEST_CASE("decoder quotes an odd kind of a nested list on one line") {
  CHECK(decode_error("apiVersion: v1\nkind: List\nitems:\n"
                     "- {apiVersion: v1, kind: \"a\\nList\", items: []}\n") ==
        R"(pods.yaml: document 1 items[0] ("a\nList"): a list inside a list)");
}

}  // namespace
}  // namespace weft::discovery
