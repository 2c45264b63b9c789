#include "agent/discovery/ManifestDecoder.hpp"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "agent/discovery/DecoderTesting.hpp"

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
  YAML::Node node = YAML::Load(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}})");
  auto ok = decode_object(node, "watch event 3");
  REQUIRE(ok.has_value());
  CHECK(std::get<Pod>(ok->objects.at(0)).name == "p");
  YAML::Node bad = YAML::Load(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"P"}})");
  auto err = decode_object(bad, "watch event 4");
  REQUIRE_FALSE(err.has_value());
  CHECK(err.error().message.starts_with("watch event 4 (Pod): metadata.name: expected a DNS-1123"));
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
