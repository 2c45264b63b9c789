// HTTPRoute and GRPCRoute decoding (RouteDecoder, RouteMatchDecoder), through decode_manifests():
// every field, the API's defaults, lists, durations and regular expressions.
#include "agent/discovery/RouteDecoder.hpp"

#include <doctest/doctest.h>
#include <re2/re2.h>

#include <chrono>
#include <string>

#include "agent/discovery/DecoderTesting.hpp"

namespace weft::discovery {
namespace {

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
  CHECK(rule.metric_route == "echo-canary/canary");
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
  CHECK(plain.metric_route == "echo-canary/rule-1");  // no name: its index
  REQUIRE(plain.matches.size() == 1);                 // matches absent: PathPrefix "/"
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
  CHECK(no_rules.rules[0].metric_route == "no-rules/rule-0");

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
  CHECK(route.rules[1].metric_route == "greeter/rule-1");
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

}  // namespace
}  // namespace weft::discovery
