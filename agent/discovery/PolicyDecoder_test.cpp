// MeshPolicy decoding (PolicyDecoder), through decode_manifests().
#include "agent/discovery/PolicyDecoder.hpp"

#include <doctest/doctest.h>

#include <string>

#include "agent/discovery/DecoderTesting.hpp"

namespace weft::discovery {
namespace {

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
