// l7::match_route() and apply_header_filter() over routes decoded from manifests and attached by
// discovery::World, as the proxy uses them. The test sits in discovery, the layer above both: l7
// includes nothing of agent/, and writing these routes as YAML keeps the cases readable.
#include "l7/RouteMatch.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/discovery/World.hpp"

namespace weft::l7 {
namespace {

using discovery::BackendRef;
using discovery::GrpcRoute;
using discovery::HeaderModifier;
using discovery::HttpRoute;
using discovery::Route;
using discovery::World;

constexpr std::string_view kEcho = R"(
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec:
  clusterIP: 10.96.0.60
  ports: [{name: http, port: 80}, {name: grpc, port: 9090}]
)";

/// Routes that apply at demo/echo (kEcho plus `yaml`) on `port` to a client of `client_ns`;
/// keeps their World alive.
struct Routes {
  std::shared_ptr<const World> world;
  std::span<const Route* const> attached;
};

Routes routes_of(std::string_view yaml, uint16_t port = 80, std::string_view client_ns = "demo") {
  std::string text = std::string(kEcho) + "---\n" + std::string(yaml);
  auto decoded = discovery::decode_manifests("routes.yaml", text);
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? std::string() : decoded.error().message));
  Routes routes;
  routes.world = World::build(std::move(decoded->objects));
  routes.attached =
      routes.world->routes_for(*routes.world->service_by_name("demo", "echo"), port, client_ns);
  return routes;
}

struct Request {
  std::string method = "GET";
  std::string path = "/";
  std::string authority = "echo.demo:80";
  Headers headers;
  bool grpc = false;
};

std::optional<RouteChoice> choose(std::span<const Route* const> routes, const Request& request,
                                  uint64_t random = 0) {
  RequestFacts facts{request.method, request.path, request.authority, request.headers,
                     request.grpc};
  return match_route(routes, facts, random);
}

/// "<route>/<rule name>" of the rule `request` matches, or "none".
std::string matched(std::span<const Route* const> routes, const Request& request) {
  auto choice = choose(routes, request);
  if (!choice) {
    return "none";
  }
  REQUIRE(choice->route != nullptr);
  REQUIRE(choice->rule != nullptr);
  return choice->route->name + "/" + choice->rule->name;
}

Request get(std::string path, Headers headers = {}) {
  Request request;
  request.path = std::move(path);
  request.headers = std::move(headers);
  return request;
}

TEST_CASE("match_route: no routes, or no rule that matches, is nullopt") {
  Headers none;
  RequestFacts facts{"GET", "/", "echo", none, false};
  CHECK_FALSE(match_route({}, facts, 0).has_value());
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: only-x, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{matches: [{path: {type: Exact, value: /x}}], backendRefs: [{name: echo, port: 80}]}]
)");
  REQUIRE(routes.attached.size() == 1);
  CHECK_FALSE(choose(routes.attached, get("/y")).has_value());
  auto choice = choose(routes.attached, get("/x"));
  REQUIRE(choice.has_value());
  const auto* route = static_cast<const HttpRoute*>(choice->route);
  CHECK(choice->rule == &route->rules[0]);
  CHECK(choice->backend == &route->rules[0].backends[0]);
}

TEST_CASE("match_route: Exact, PathPrefix by segments and RegularExpression paths") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: p, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - {name: exact, matches: [{path: {type: Exact, value: /exact}}]}
  - {name: prefix, matches: [{path: {value: /foo}}]}
  - {name: prefix-slash, matches: [{path: {type: PathPrefix, value: /bar/}}]}
  - {name: regex, matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]}
)");
  struct Case {
    std::string_view path;
    std::string_view rule;
  };
  const Case cases[] = {
      {"/exact", "p/exact"},        {"/exact?x=1", "p/exact"},  // the query is not part of the path
      {"/exact/", "none"},          {"/Exact", "none"},         // case-sensitive
      {"/foo", "p/prefix"},         {"/foo/", "p/prefix"},
      {"/foo/bar", "p/prefix"},     {"/foo?x", "p/prefix"},
      {"/foobar", "none"},          {"/fo", "none"},
      {"/bar", "p/prefix-slash"},  // a trailing '/' of the prefix is ignored
      {"/bar/x", "p/prefix-slash"}, {"/barx", "none"},
      {"/items/42", "p/regex"},     {"/items/42?a=b", "p/regex"},
      {"/items/42/x", "none"},  // the whole path must match
      {"/items/", "none"},          {"/", "none"},
  };
  for (const Case& c : cases) {
    INFO(c.path);
    CHECK(matched(routes.attached, get(std::string(c.path))) == c.rule);
  }
}

TEST_CASE("match_route: a rule without matches takes every request") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: any, backendRefs: [{name: echo, port: 80}]}]
)");
  for (std::string_view path : {"/", "/a/b?c=d", "*", ""}) {
    CHECK(matched(routes.attached, get(std::string(path))) == "all/any");
  }
}

TEST_CASE("match_route: header names compare case-insensitively, values exactly") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: h, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - {name: exact, matches: [{headers: [{name: X-Env, value: canary}]}]}
  - {name: regex, matches: [{headers: [{type: RegularExpression, name: User-Agent,
                                        value: "curl/.*"}]}]}
  - {name: joined, matches: [{headers: [{name: x-multi, value: "a,b"}]}]}
  - {name: cookie, matches: [{headers: [{name: cookie, value: "a=1; b=2"}]}]}
  - {name: both, matches: [{headers: [{name: x-one, value: "1"}, {name: x-two, value: "2"}]}]}
)");
  struct Case {
    Headers headers;
    std::string_view rule;
  };
  const Case cases[] = {
      {{{"x-env", "canary"}}, "h/exact"},
      {{{"X-ENV", "canary"}}, "h/exact"},
      {{{"x-env", "Canary"}}, "none"},
      {{{"x-env", "canary "}}, "none"},
      {{{"x-envy", "canary"}}, "none"},
      {{{"user-agent", "curl/8.4.0"}}, "h/regex"},
      {{{"user-agent", "wget curl/8"}}, "none"},  // the whole value must match
      // A repeated field reads as its values joined with "," (RFC 9110 5.3).
      {{{"x-multi", "a"}, {"X-Multi", "b"}}, "h/joined"},
      {{{"x-multi", "a,b"}}, "h/joined"},
      {{{"x-multi", "a"}}, "none"},
      {{{"cookie", "a=1"}, {"cookie", "b=2"}}, "h/cookie"},  // cookie joins with "; "
      {{{"x-one", "1"}, {"x-two", "2"}}, "h/both"},
      {{{"x-one", "1"}}, "none"},
      {{}, "none"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(matched(routes.attached, get("/", c.headers)) == c.rule);
  }
}

TEST_CASE("match_route: query parameters by exact name, first value, percent-decoded") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: q, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - {name: exact, matches: [{queryParams: [{name: env, value: canary}]}]}
  - {name: regex, matches: [{queryParams: [{type: RegularExpression, name: id, value: "[0-9]+"}]}]}
  - {name: spaced, matches: [{queryParams: [{name: q, value: "a b"}]}]}
)");
  struct Case {
    std::string_view path;
    std::string_view rule;
  };
  const Case cases[] = {
      {"/?env=canary", "q/exact"},
      {"/x/y?a=1&env=canary&flag", "q/exact"},
      {"/?env=canary2", "none"},
      {"/?ENV=canary", "none"},           // names compare exactly
      {"/?env=prod&env=canary", "none"},  // the first value counts
      {"/?en%76=can%61ry", "q/exact"},
      {"/?env", "none"},
      {"/env=canary", "none"},
      {"/?id=123", "q/regex"},
      {"/?id=12a", "none"},
      {"/?q=a%20b", "q/spaced"},
      {"/?q=a+b", "none"},  // '+' is not a space here
      {"/?q=a%2", "none"},  // a malformed escape stays as it is
  };
  for (const Case& c : cases) {
    INFO(c.path);
    CHECK(matched(routes.attached, get(std::string(c.path))) == c.rule);
  }
}

TEST_CASE("match_route: method matches") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: m, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: post, matches: [{method: POST}]}]
)");
  Request request = get("/");
  CHECK(matched(routes.attached, request) == "none");
  request.method = "POST";
  CHECK(matched(routes.attached, request) == "m/post");
  request.method = "post";
  CHECK(matched(routes.attached, request) == "none");
}

TEST_CASE("match_route: hostnames, exact before wildcard before none, ahead of paths") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: any-host, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - {name: exact-path, matches: [{path: {type: Exact, value: /x}}]}
  - {name: all}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: wild-host, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  hostnames: ["*.example.com"]
  rules: [{name: all}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: exact-host, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  hostnames: [other.test, echo.example.com]
  rules: [{name: all}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: longer-wild, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  hostnames: ["*.deep.example.com"]
  rules: [{name: all}]
)");
  struct Case {
    std::string_view authority;
    std::string_view path;
    std::string_view rule;
  };
  const Case cases[] = {
      {"echo.example.com", "/", "exact-host/all"},
      {"ECHO.Example.com:8080", "/", "exact-host/all"},  // case and port ignored
      {"echo.example.com.", "/", "exact-host/all"},
      {"user@echo.example.com", "/", "exact-host/all"},
      {"other.test", "/", "exact-host/all"},
      // The hostname ranks before the path: the exact path of any-host loses.
      {"echo.example.com", "/x", "exact-host/all"},
      {"foo.example.com", "/", "wild-host/all"},
      {"a.b.example.com", "/", "wild-host/all"},
      {"a.deep.example.com", "/", "longer-wild/all"},  // more characters in the wildcard
      {"example.com", "/", "any-host/all"},            // "*.example.com" needs a label in front
      {"xexample.com", "/", "any-host/all"},
      {"echo.demo", "/x", "any-host/exact-path"},
      {"10.96.0.60:80", "/", "any-host/all"},
      {"[fd00::1]:80", "/", "any-host/all"},
      {"", "/", "any-host/all"},
  };
  for (const Case& c : cases) {
    INFO(c.authority, " ", c.path);
    Request request = get(std::string(c.path));
    request.authority = c.authority;
    CHECK(matched(routes.attached, request) == c.rule);
  }
}

TEST_CASE("match_route: HTTPRoute precedence is the Gateway API's") {
  // Rules listed from the weakest to the strongest, so that list order cannot explain a result.
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: p, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - name: catch-all
  - name: query2
    matches: [{path: {value: /api}, queryParams: [{name: a, value: "1"}, {name: b, value: "1"}]}]
  - name: header1
    matches: [{path: {value: /api}, headers: [{name: x-a, value: "1"}]}]
  - name: header2
    matches: [{path: {value: /api}, headers: [{name: x-a, value: "1"}, {name: x-b, value: "1"}]}]
  - name: method
    matches: [{path: {value: /api}, method: POST}]
  - name: prefix-v1
    matches: [{path: {value: /api/v1}}]
  - name: regex
    matches: [{path: {type: RegularExpression, value: "/api/v1/.*"}}]
  - name: exact
    matches: [{path: {type: Exact, value: /api/v1/items}}]
  - name: any-of
    matches: [{path: {value: /}}, {path: {type: Exact, value: /other/exact}}]
  - name: prefix-other
    matches: [{path: {value: /other}}]
)");
  Headers ab = {{"x-a", "1"}, {"x-b", "1"}};
  struct Case {
    std::string_view method;
    std::string_view path;
    Headers headers;
    std::string_view rule;
  };
  const Case cases[] = {
      {"GET", "/elsewhere", {}, "p/catch-all"},
      {"GET", "/api", {}, "p/catch-all"},
      {"GET", "/api?a=1&b=1", {}, "p/query2"},
      {"GET", "/api?a=1&b=1", {{"x-a", "1"}}, "p/header1"},  // one header beats two params
      {"GET", "/api", ab, "p/header2"},                      // two headers beat one
      {"POST", "/api?a=1&b=1", ab, "p/method"},              // a method beats headers
      {"POST", "/api/v1", ab, "p/prefix-v1"},                // a longer prefix beats a method
      {"GET", "/api/v1/items/3", {}, "p/regex"},             // a regex beats any prefix
      {"GET", "/api/v1/items", {}, "p/exact"},               // an exact path beats a regex
      {"GET", "/api/v1", {}, "p/prefix-v1"},
      // A rule ranks by its best match that holds: the exact one here.
      {"GET", "/other/exact", {}, "p/any-of"},
      {"GET", "/other/x", {}, "p/prefix-other"},
  };
  for (const Case& c : cases) {
    INFO(c.method, " ", c.path);
    Request request = get(std::string(c.path), c.headers);
    request.method = c.method;
    CHECK(matched(routes.attached, request) == c.rule);
  }
}

TEST_CASE("match_route: ties go to the oldest route, then namespace/name, then the first rule") {
  constexpr std::string_view kTwins = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-route, namespace: demo, creationTimestamp: "2023-01-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: first, matches: [{path: {value: /x}}]}, {name: second, matches: [{path: {value: /x}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-route, namespace: demo, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: only, matches: [{path: {value: /x}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: c-route, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: only, matches: [{path: {value: /y}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-y-route, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, namespace: demo}]
  rules: [{name: only, matches: [{path: {value: /y}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: e-route, namespace: demo, creationTimestamp: "2030-01-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: only, matches: [{path: {value: /z}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-route-no-time, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: only, matches: [{path: {value: /z}}]}]
)";
  Routes routes = routes_of(kTwins);
  CHECK(matched(routes.attached, get("/x")) == "b-route/first");   // older, then first rule
  CHECK(matched(routes.attached, get("/y")) == "b-y-route/only");  // "demo/b-y..." < "demo/c..."
  CHECK(matched(routes.attached, get("/z")) == "e-route/only");    // a timestamp beats none
  // The order of the span does not matter.
  std::vector<const Route*> reversed(routes.attached.rbegin(), routes.attached.rend());
  CHECK(matched(reversed, get("/x")) == "b-route/first");
  CHECK(matched(reversed, get("/y")) == "b-y-route/only");
  CHECK(matched(reversed, get("/z")) == "e-route/only");
}

constexpr std::string_view kGrpc = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 9090}]
  rules:
  - name: any
  - name: header
    matches: [{headers: [{name: X-Tenant, value: a}]}]
  - name: regex
    matches: [{method: {type: RegularExpression, service: "helloworld\\..*", method: "Say.*"}}]
  - name: method-only
    matches: [{method: {method: SayHello}}]
  - name: service-only
    matches: [{method: {service: helloworld.Greeter}}]
  - name: exact
    matches: [{method: {service: helloworld.Greeter, method: SayHello}}]
)";

Request grpc(std::string path, Headers headers = {}) {
  Request request = get(std::move(path), std::move(headers));
  request.method = "POST";
  request.grpc = true;
  return request;
}

TEST_CASE("match_route: GRPCRoute methods, precedence, and only for gRPC requests") {
  Routes routes = routes_of(kGrpc, 9090);
  REQUIRE(routes.attached.size() == 1);
  struct Case {
    Request request;
    std::string_view rule;
  };
  const Case cases[] = {
      {grpc("/helloworld.Greeter/SayHello"), "g/exact"},
      {grpc("/helloworld.Greeter/SayBye"), "g/service-only"},  // service characters first
      {grpc("/helloworld.Other/SayHello"), "g/method-only"},   // exact method before a regex
      {grpc("/helloworld.Other/Sayonara"), "g/regex"},
      {grpc("/helloworld.Other/Hi"), "g/any"},
      {grpc("/pkg.Svc/Do", {{"x-tenant", "a"}}), "g/header"},
      {grpc("/helloworld.Greeter/SayHello", {{"x-tenant", "a"}}), "g/exact"},
      {grpc("/pkg.Svc/Do"), "g/any"},
      // Not a gRPC path: only matches without a method apply.
      {grpc("/nope"), "g/any"},
      {grpc("/a/b/c", {{"x-tenant", "a"}}), "g/header"},
      // A GRPCRoute never takes a request that is not gRPC.
      {get("/helloworld.Greeter/SayHello"), "none"},
      {get("/"), "none"},
  };
  for (const Case& c : cases) {
    INFO(c.request.path);
    CHECK(matched(routes.attached, c.request) == c.rule);
  }
}

TEST_CASE("match_route: where a GRPCRoute attaches, no request matches the HTTPRoutes there") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  hostnames: [grpc.example.com]
  rules: [{name: exact, matches: [{method: {service: a.B, method: C}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: h, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - {name: prefix, matches: [{path: {value: /a.B}}]}
  - {name: all}
)");
  Request request = grpc("/a.B/C");
  CHECK(matched(routes.attached, request) == "none");  // the GRPCRoute's hostname differs
  request.authority = "grpc.example.com";
  CHECK(matched(routes.attached, request) == "g/exact");
  request.path = "/a.B/D";
  CHECK(matched(routes.attached, request) == "none");
  request.path = "/x.Y/D";
  CHECK(matched(routes.attached, request) == "none");
  // Nor do requests that are not gRPC: the GRPCRoute takes none, the HTTPRoute is ignored.
  CHECK(matched(routes.attached, get("/a.B/C")) == "none");
  CHECK(matched(routes.attached, get("/")) == "none");
}

TEST_CASE("match_route: a consumer namespace's GRPCRoute hides only that namespace's HTTPRoutes") {
  constexpr std::string_view kRoutes = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: producer-h, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules: [{name: all}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: a-g, namespace: team-a}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, namespace: demo}]
  rules: [{name: exact, matches: [{method: {service: a.B, method: C}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-h, namespace: team-a}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, namespace: demo}]
  rules: [{name: all}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-h, namespace: team-b}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, namespace: demo}]
  rules: [{name: all}]
)";
  struct Case {
    std::string_view client_ns;
    Request request;
    std::string_view rule;
  };
  const Case cases[] = {
      // team-a's clients: its GRPCRoute only; neither its own HTTPRoute nor the producer's.
      {"team-a", grpc("/a.B/C"), "a-g/exact"},
      {"team-a", grpc("/x.Y/Z"), "none"},
      {"team-a", get("/"), "none"},
      // Everyone else keeps their HTTPRoutes, for gRPC requests too.
      {"demo", grpc("/a.B/C"), "producer-h/all"},
      {"demo", get("/"), "producer-h/all"},
      {"elsewhere", grpc("/a.B/C"), "producer-h/all"},
      {"team-b", grpc("/a.B/C"), "b-h/all"},
      {"team-b", get("/"), "b-h/all"},
  };
  for (const Case& c : cases) {
    INFO(c.client_ns, " ", c.request.path, c.request.grpc ? " (gRPC)" : "");
    Routes routes = routes_of(kRoutes, 80, c.client_ns);
    CHECK(matched(routes.attached, c.request) == c.rule);
  }
}

TEST_CASE("match_route: where only HTTPRoutes attach, they take gRPC requests too") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: h, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 9090}]
  rules: [{name: prefix, matches: [{path: {value: /a.B}}]}]
)",
                            9090);
  REQUIRE(routes.attached.size() == 1);
  CHECK(matched(routes.attached, grpc("/a.B/C")) == "h/prefix");
  CHECK(matched(routes.attached, grpc("/x.Y/Z")) == "none");
  CHECK(matched(routes.attached, get("/a.B/C")) == "h/prefix");
}

constexpr std::string_view kSplit = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - name: canary
    matches: [{path: {value: /canary}}]
    backendRefs: [{name: echo-v1, port: 80, weight: 90}, {name: echo-v2, port: 80, weight: 10}]
  - name: zeros
    matches: [{path: {value: /zeros}}]
    backendRefs: [{name: a, port: 80, weight: 0}, {name: b, port: 80}, {name: c, port: 80, weight: 0}]
  - name: all-zero
    matches: [{path: {value: /all-zero}}]
    backendRefs: [{name: a, port: 80, weight: 0}, {name: b, port: 80, weight: 0}]
  - name: no-backends
    matches: [{path: {value: /none}}]
)";

TEST_CASE("match_route: backends by weight, a 90/10 split over 10 000 draws") {
  Routes routes = routes_of(kSplit);
  std::mt19937_64 random(20240501);
  int v1 = 0;
  int v2 = 0;
  constexpr int kDraws = 10'000;
  for (int i = 0; i < kDraws; ++i) {
    auto choice = choose(routes.attached, get("/canary"), random());
    REQUIRE(choice.has_value());
    REQUIRE(choice->backend != nullptr);
    (choice->backend->name == "echo-v1" ? v1 : v2) += 1;
  }
  CHECK(v1 + v2 == kDraws);
  double share = static_cast<double>(v1) / kDraws;
  INFO("echo-v1 share ", share);
  CHECK(std::abs(share - 0.90) <= 0.015);
  // `random` modulo the total weight, laid out in list order.
  auto backend_for = [&routes](uint64_t value) {
    return choose(routes.attached, get("/canary"), value)->backend->name;
  };
  CHECK(backend_for(0) == "echo-v1");
  CHECK(backend_for(89) == "echo-v1");
  CHECK(backend_for(90) == "echo-v2");
  CHECK(backend_for(99) == "echo-v2");
  CHECK(backend_for(100) == "echo-v1");
  CHECK(backend_for(UINT64_MAX) == "echo-v1");  // 2^64 - 1 = 15 (mod 100)
}

TEST_CASE("match_route: weight 0 is never chosen; no usable backend gives a null backend") {
  Routes routes = routes_of(kSplit);
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{12345}, UINT64_MAX}) {
    auto choice = choose(routes.attached, get("/zeros"), value);
    REQUIRE(choice.has_value());
    REQUIRE(choice->backend != nullptr);
    CHECK(choice->backend->name == "b");
  }
  for (std::string_view path : {"/all-zero", "/none"}) {
    auto choice = choose(routes.attached, get(std::string(path)), 7);
    REQUIRE(choice.has_value());  // the rule matched: the caller answers 500
    CHECK(choice->rule != nullptr);
    CHECK(choice->backend == nullptr);
  }
  // echo-v1 and echo-v2 do not exist: they are chosen all the same (and have no endpoints).
  CHECK(routes.world->service_by_name("demo", "echo-v1") == nullptr);
  CHECK(choose(routes.attached, get("/canary"), 0)->backend->name == "echo-v1");
}

HeaderModifier modifier(std::vector<discovery::HttpHeader> set,
                        std::vector<discovery::HttpHeader> add, std::vector<std::string> remove) {
  HeaderModifier filter;
  filter.set = std::move(set);
  filter.add = std::move(add);
  filter.remove = std::move(remove);
  return filter;
}

std::vector<std::string> lines(const Headers& headers) {
  std::vector<std::string> out;
  for (const Header& header : headers) {
    out.push_back(header.name + ": " + header.value);
  }
  return out;
}

TEST_CASE("apply_header_filter: set replaces, add appends, remove deletes, any case") {
  Headers headers = {{":path", "/"}, {"x-a", "1"},          {"X-B", "2"}, {"x-keep", "k"},
                     {"x-b", "3"},   {"Set-Cookie", "a=1"}, {"X-C", "4"}};
  apply_header_filter(modifier({{"x-b", "new"}, {"x-absent", "set"}},
                               {{"set-cookie", "b=2"}, {"x-keep", "k2"}}, {"x-a", "x-c"}),
                      headers);
  CHECK(lines(headers) == std::vector<std::string>{
                              ":path: /",
                              "x-b: new",  // at the first field's place, the others removed
                              "x-keep: k",
                              "Set-Cookie: a=1",
                              "x-absent: set",
                              "set-cookie: b=2",  // add keeps the existing field
                              "x-keep: k2",
                          });
  Headers unchanged = {{"a", "1"}};
  apply_header_filter(HeaderModifier{}, unchanged);
  CHECK(lines(unchanged) == std::vector<std::string>{"a: 1"});
  Headers empty;
  apply_header_filter(modifier({{"x-a", "1"}}, {{"x-b", "2"}}, {"x-c"}), empty);
  CHECK(lines(empty) == std::vector<std::string>{"x-a: 1", "x-b: 2"});
}

TEST_CASE("apply_header_filter with the filters of a decoded rule") {
  Routes routes = routes_of(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: f, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo}]
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Route, value: f}]
        add: [{name: Via, value: weft}]
        remove: [X-Debug]
    - type: ResponseHeaderModifier
      responseHeaderModifier: {remove: [Server]}
)");
  auto choice = choose(routes.attached, get("/"));
  REQUIRE(choice.has_value());
  Headers request = {{"x-debug", "1"}, {"x-route", "old"}, {"Via", "proxy"}};
  apply_header_filter(*choice->rule->request_headers, request);
  CHECK(lines(request) == std::vector<std::string>{"x-route: f", "Via: proxy", "via: weft"});
  Headers response = {{":status", "200"}, {"server", "nginx"}};
  apply_header_filter(*choice->rule->response_headers, response);
  CHECK(lines(response) == std::vector<std::string>{":status: 200"});
}

}  // namespace
}  // namespace weft::l7
