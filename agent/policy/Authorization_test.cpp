#include "agent/policy/Authorization.hpp"

#include <doctest/doctest.h>

#include <string>

#include "agent/discovery/ManifestDecoder.hpp"

namespace weft::policy {
namespace {

using discovery::PodInfo;
using discovery::World;

constexpr std::string_view kClient = "spiffe://cluster.local/ns/demo/sa/client";
constexpr std::string_view kIntruder = "spiffe://cluster.local/ns/demo/sa/intruder";
constexpr std::string_view kProdClient = "spiffe://cluster.local/ns/prod/sa/client";
constexpr std::string_view kPlaintext = "";

/// Pods of every test: demo/echo (app=echo), demo/web (app=web), prod/echo (app=echo).
constexpr std::string_view kPods = R"(
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: demo, labels: {app: echo}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: demo, labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: prod, labels: {app: echo}}
)";

std::shared_ptr<const World> world_with(std::string_view policies) {
  std::string text = std::string(kPods) + "---\n" + std::string(policies);
  auto decoded = discovery::decode_manifests("policies.yaml", text);
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? std::string() : decoded.error().message));
  return World::build(std::move(decoded->objects));
}

/// The reason label of authorize() for `principal` connecting to pod ns/name.
std::string verdict(const World& world, std::string_view ns, std::string_view name,
                    std::string_view principal) {
  const PodInfo* pod = world.pod_by_name(ns, name);
  REQUIRE(pod != nullptr);
  return std::string(authorize(world, pod, Source{principal}).reason());
}

std::string policy(std::string_view name, std::string_view ns, std::string_view spec) {
  return "apiVersion: security.weft.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: " +
         std::string(name) + ", namespace: " + std::string(ns) + "}\nspec: " + std::string(spec) +
         "\n";
}

TEST_CASE("Decision spells its verdict as the denied-metric reason") {
  CHECK(Decision{Verdict::Allow}.allowed());
  CHECK(Decision{Verdict::Allow}.reason() == "allowed");
  CHECK_FALSE(Decision{Verdict::DenyNotAllowed}.allowed());
  CHECK(Decision{Verdict::DenyNotAllowed}.reason() == "not_allowed");
  CHECK_FALSE(Decision{Verdict::DenyPlaintext}.allowed());
  CHECK(Decision{Verdict::DenyPlaintext}.reason() == "plaintext_in_strict");
}

TEST_CASE("without a selecting policy every source is allowed, plaintext included") {
  auto world = world_with(policy("web-only", "demo",
                                 "{selector: {matchLabels: {app: web}}, "
                                 "mode: STRICT, allow: {principals: []}}"));
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "allowed");
  CHECK(verdict(*world, "demo", "echo", kIntruder) == "allowed");
  // Unknown destination pod: the default, whatever policies exist.
  CHECK(authorize(*world, nullptr, Source{kPlaintext}).verdict == Verdict::Allow);
  CHECK(authorize(*world, nullptr, Source{kIntruder}).verdict == Verdict::Allow);
  CHECK(authorize(*World::empty(), nullptr, Source{}).allowed());
}

TEST_CASE("a policy applies only to pods of its own namespace matching its selector") {
  auto world =
      world_with(policy("echo", "demo", "{selector: {matchLabels: {app: echo}}, mode: STRICT}"));
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "plaintext_in_strict");
  CHECK(verdict(*world, "demo", "web", kPlaintext) == "allowed");
  CHECK(verdict(*world, "prod", "echo", kPlaintext) == "allowed");
  // No selector: every pod of the namespace.
  world = world_with(policy("all", "demo", "{mode: STRICT}"));
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "plaintext_in_strict");
  CHECK(verdict(*world, "demo", "web", kPlaintext) == "plaintext_in_strict");
  CHECK(verdict(*world, "prod", "echo", kPlaintext) == "allowed");
}

TEST_CASE("STRICT refuses plaintext and admits any authenticated source without allow") {
  auto world = world_with(policy("strict", "demo", "{mode: STRICT}"));
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "plaintext_in_strict");
  CHECK(verdict(*world, "demo", "echo", kClient) == "allowed");
  CHECK(verdict(*world, "demo", "echo", kProdClient) == "allowed");
}

TEST_CASE("PERMISSIVE (explicit or default) admits plaintext when no allow is present") {
  for (std::string_view spec : {"{mode: PERMISSIVE}", "{}"}) {
    INFO(spec);
    auto world = world_with(policy("open", "demo", spec));
    CHECK(verdict(*world, "demo", "echo", kPlaintext) == "allowed");
    CHECK(verdict(*world, "demo", "echo", kClient) == "allowed");
  }
}

TEST_CASE("allow admits listed principals, namespaces and \"*\" and refuses the rest") {
  struct Case {
    std::string_view allow;
    std::string_view principal;
    std::string_view reason;
  };
  const Case cases[] = {
      {"{principals: [\"spiffe://cluster.local/ns/demo/sa/client\"]}", kClient, "allowed"},
      {"{principals: [\"spiffe://cluster.local/ns/demo/sa/client\"]}", kIntruder, "not_allowed"},
      {"{principals: [\"spiffe://cluster.local/ns/demo/sa/client\"]}", kProdClient, "not_allowed"},
      // Exact match: the trust domain is part of the principal.
      {"{principals: [\"spiffe://other.td/ns/demo/sa/client\"]}", kClient, "not_allowed"},
      {"{principals: [\"*\"]}", kIntruder, "allowed"},
      {"{principals: [\"*\"]}", "spiffe://other.td/some/path", "allowed"},
      {"{namespaces: [demo]}", kClient, "allowed"},
      {"{namespaces: [demo]}", kIntruder, "allowed"},
      {"{namespaces: [demo]}", kProdClient, "not_allowed"},
      {"{namespaces: [demo]}", "spiffe://other.td/ns/demo/sa/x", "allowed"},
      // The namespace is read from the workload form only, never from elsewhere in a path.
      {"{namespaces: [demo]}", "spiffe://cluster.local/x/ns/demo/sa/client", "not_allowed"},
      {"{namespaces: [demo]}", "spiffe://cluster.local/ns/demo", "not_allowed"},
      {"{namespaces: [prod, demo]}", kClient, "allowed"},
      // Either list may admit the source.
      {"{principals: [\"spiffe://cluster.local/ns/demo/sa/client\"], namespaces: [prod]}",
       kProdClient, "allowed"},
      {"{principals: [\"spiffe://cluster.local/ns/demo/sa/client\"], namespaces: [prod]}", kClient,
       "allowed"},
      {"{principals: [\"spiffe://cluster.local/ns/demo/sa/client\"], namespaces: [prod]}",
       kIntruder, "not_allowed"},
      // Both lists empty (or absent): nothing is allowed.
      {"{}", kClient, "not_allowed"},
      {"{principals: [], namespaces: []}", kClient, "not_allowed"},
      // Plaintext never matches an allow list, "*" included.
      {"{principals: [\"*\"]}", kPlaintext, "not_allowed"},
      {"{namespaces: [demo]}", kPlaintext, "not_allowed"},
  };
  for (const Case& c : cases) {
    INFO(c.allow, " ", c.principal);
    auto world = world_with(policy("callers", "demo", "{allow: " + std::string(c.allow) + "}"));
    CHECK(verdict(*world, "demo", "echo", c.principal) == c.reason);
  }
}

TEST_CASE("STRICT with allow: plaintext is refused as plaintext, others by the allow list") {
  auto world =
      world_with(policy("callers", "demo", "{mode: STRICT, allow: {principals: [\"*\"]}}"));
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "plaintext_in_strict");
  CHECK(verdict(*world, "demo", "echo", kIntruder) == "allowed");
}

TEST_CASE("several selecting policies: any STRICT wins, any allow admits") {
  std::string two_allows =
      policy("a", "demo",
             "{selector: {matchLabels: {app: echo}}, "
             "allow: {principals: [\"spiffe://cluster.local/ns/demo/sa/client\"]}}") +
      "---\n" + policy("b", "demo", "{allow: {namespaces: [prod]}}");
  auto world = world_with(two_allows);
  CHECK(verdict(*world, "demo", "echo", kClient) == "allowed");      // through a
  CHECK(verdict(*world, "demo", "echo", kProdClient) == "allowed");  // through b
  CHECK(verdict(*world, "demo", "echo", kIntruder) == "not_allowed");
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "not_allowed");
  CHECK(verdict(*world, "demo", "web", kClient) == "not_allowed");  // only b selects web
  CHECK(verdict(*world, "demo", "web", kProdClient) == "allowed");

  // One STRICT among PERMISSIVE ones makes the pod STRICT; a policy without allow does not
  // widen another one's allow list.
  std::string mixed = policy("p1", "demo", "{mode: PERMISSIVE}") + "---\n" +
                      policy("s", "demo", "{selector: {matchLabels: {app: echo}}, mode: STRICT}") +
                      "---\n" + policy("p2", "demo", "{allow: {namespaces: [prod]}}");
  world = world_with(mixed);
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "plaintext_in_strict");
  CHECK(verdict(*world, "demo", "web", kPlaintext) == "not_allowed");
  CHECK(verdict(*world, "demo", "echo", kClient) == "not_allowed");
  CHECK(verdict(*world, "demo", "echo", kProdClient) == "allowed");

  // Only PERMISSIVE policies, none with allow: plaintext and everyone admitted.
  world = world_with(policy("p1", "demo", "{mode: PERMISSIVE}") + "---\n" +
                     policy("p2", "demo", "{selector: {matchLabels: {app: echo}}}"));
  CHECK(verdict(*world, "demo", "echo", kPlaintext) == "allowed");
  CHECK(verdict(*world, "demo", "echo", kIntruder) == "allowed");
}

TEST_CASE("an empty allow in one policy does not stop another policy's allow") {
  auto world = world_with(policy("deny", "demo", "{allow: {}}") + "---\n" +
                          policy("some", "demo", "{allow: {namespaces: [demo]}}"));
  CHECK(verdict(*world, "demo", "echo", kClient) == "allowed");
  CHECK(verdict(*world, "demo", "echo", kProdClient) == "not_allowed");
}

}  // namespace
}  // namespace weft::policy
