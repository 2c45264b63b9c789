// HTTPRoute and GRPCRoute decoding (RouteDecoder, RouteMatchDecoder), through decode_manifests():
// every malformed field is refused with its path, and the edge values are accepted.
#include "agent/discovery/RouteDecoder.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "agent/discovery/DecoderTesting.hpp"

namespace weft::discovery {
namespace {

using std::chrono::milliseconds;

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
