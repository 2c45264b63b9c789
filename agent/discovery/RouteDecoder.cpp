#include "agent/discovery/RouteDecoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/discovery/Ascii.hpp"
#include "agent/discovery/Text.hpp"
#include "agent/discovery/TimeText.hpp"

namespace weft::discovery::detail {
namespace {

/// A namespace reference (DNS-1123 label); `fallback` when absent.
std::string read_namespace(FieldReader& r, const Field& field, std::string_view fallback) {
  std::string ns = r.text(field, fallback);
  if (field.present && r.ok() && !detail::is_dns_label(ns)) {
    r.fail(field.path, fmt::format("expected a DNS-1123 label, got {}", quoted_excerpt(ns)));
  }
  return ns;
}

/// Gateway API Group: empty (the core group) or a DNS subdomain.
std::string read_group(FieldReader& r, const Field& field, std::string_view fallback) {
  std::string group = r.text(field, fallback);
  if (field.present && r.ok() && !group.empty() && !detail::is_dns_subdomain(group)) {
    r.fail(field.path, fmt::format("expected an API group (\"\" or a DNS-1123 subdomain), got {}",
                                   quoted_excerpt(group)));
  }
  return group;
}

/// Gateway API Kind: a letter, then letters, digits and '-', at most 63.
std::string read_kind(FieldReader& r, const Field& field, std::string_view fallback) {
  std::string kind = r.text(field, fallback);
  bool valid = !kind.empty() && kind.size() <= 63 && is_alpha(kind.front()) && kind.back() != '-' &&
               std::all_of(kind.begin(), kind.end(),
                           [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
  if (field.present && r.ok() && !valid) {
    r.fail(field.path,
           fmt::format("expected a kind (letters, digits, '-'), got {}", quoted_excerpt(kind)));
  }
  return kind;
}

std::optional<std::chrono::milliseconds> read_duration(FieldReader& r, const Field& field) {
  std::string text = r.text(field);
  if (!field.present || !r.ok()) {
    return std::nullopt;
  }
  auto duration = parse_duration(text);
  if (!duration) {
    r.fail(field.path, fmt::format("expected a Gateway API duration such as \"10s\", \"500ms\" or "
                                   "\"1h30m\" (1-4 parts of 1-5 digits and h, m, s or ms), got {}",
                                   quoted_excerpt(text)));
  }
  return duration;
}

/// Headers a filter may not touch: they belong to the connection or to the message framing,
/// which the proxy manages (and HTTP/2 forbids the connection-specific ones).
bool is_managed_header(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 7> kManaged = {
      "connection", "keep-alive",        "proxy-connection", "te",
      "upgrade",    "transfer-encoding", "content-length"};
  return std::find(kManaged.begin(), kManaged.end(), lower_name) != kManaged.end();
}

/// A header value a proxy can send: no NUL, CR, LF or other control byte but tab, and no
/// whitespace at either end (RFC 9110 5.5, RFC 9113 8.2.1).
bool is_header_value(std::string_view value) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  if (!value.empty() && (space(value.front()) || space(value.back()))) {
    return false;
  }
  return std::none_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

HeaderModifier read_header_modifier(FieldReader& r, const Field& f) {
  HeaderModifier mod;
  std::vector<std::string> names;  // lower case, across set, add and remove
  auto claim = [&r, &names](const Field& field, const std::string& name) {
    std::string key = lower(name);
    if (r.ok() && is_managed_header(key)) {
      r.fail(field.path, fmt::format("{} is managed by the proxy and cannot be modified",
                                     quoted_excerpt(name)));
    }
    if (r.ok() && std::find(names.begin(), names.end(), key) != names.end()) {
      r.fail(field.path, fmt::format("header {} appears more than once in this filter (names are "
                                     "case-insensitive)",
                                     quoted_excerpt(name)));
    }
    names.push_back(key);
    return key;
  };
  for (std::string_view list : {"set", "add"}) {
    for (const Field& item : r.bounded_items(r.at(f, list), 16)) {
      Field name = r.at(item, "name");
      std::string written = read_header_name(r, name, "an HTTP header name");
      Field value = r.at(item, "value");
      HttpHeader header{claim(name, written), r.required_text(value)};
      r.check_length(value, header.value, 4096);
      if (r.ok() && !is_header_value(header.value)) {
        r.fail(value.path, fmt::format("expected a header value without control characters or "
                                       "whitespace at either end, got {}",
                                       quoted_excerpt(header.value)));
      }
      r.only_known_keys(item, {"name", "value"});
      if (!r.ok()) {
        return mod;
      }
      (list == "set" ? mod.set : mod.add).push_back(std::move(header));
    }
  }
  for (const Field& item : r.bounded_items(r.at(f, "remove"), 16)) {
    std::string written = read_header_name(r, item, "an HTTP header name");
    std::string key = claim(item, written);
    if (!r.ok()) {
      return mod;
    }
    mod.remove.push_back(std::move(key));
  }
  r.only_known_keys(f, {"set", "add", "remove"});
  return mod;
}

void read_filters(FieldReader& r, const Field& list, RouteRule& rule) {
  for (const Field& f : r.bounded_items(list, 16)) {
    Field type = r.at(f, "type");
    std::string name = r.required_text(type);
    if (!r.ok()) {
      return;
    }
    bool request = name == "RequestHeaderModifier";
    if (!request && name != "ResponseHeaderModifier") {
      r.fail(type.path, fmt::format("unsupported filter type {} (weft supports "
                                    "RequestHeaderModifier and ResponseHeaderModifier)",
                                    quoted_excerpt(name)));
      return;
    }
    std::optional<HeaderModifier>& slot = request ? rule.request_headers : rule.response_headers;
    if (slot) {
      r.fail(type.path, fmt::format("{} filter cannot be repeated", name));
      return;
    }
    Field config = r.at(f, request ? "requestHeaderModifier" : "responseHeaderModifier");
    Field other = r.at(f, request ? "responseHeaderModifier" : "requestHeaderModifier");
    if (!config.present) {
      r.fail(config.path, fmt::format("required when type is {}", name));
    } else if (other.present) {
      r.fail(other.path, fmt::format("must be absent when type is {}", name));
    }
    r.only_known_keys(f, {"type", "requestHeaderModifier", "responseHeaderModifier"});
    slot = read_header_modifier(r, config);
  }
}

BackendRef read_backend_ref(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  BackendRef backend;
  backend.group = read_group(r, r.at(f, "group"), "");
  backend.kind = read_kind(r, r.at(f, "kind"), "Service");
  Field name = r.at(f, "name");
  backend.name = r.name(name);
  if (r.ok() && backend.name.empty()) {
    r.fail(name.path, "required");
  }
  backend.ns = read_namespace(r, r.at(f, "namespace"), rr.ns);
  Field port = r.at(f, "port");
  if (port.present) {
    backend.port = r.port(port);
  } else if (r.ok() && backend.is_service()) {
    r.fail(port.path, "required for a Service backend");
  }
  Field weight = r.at(f, "weight");
  constexpr std::string_view kWeight = "an integer 0-1000000";
  auto value = r.integer(weight, kWeight);
  if (value && (*value < 0 || *value > 1'000'000)) {
    r.fail(weight.path, fmt::format("expected {}, got {}", kWeight, *value));
  }
  backend.weight = static_cast<uint32_t>(r.ok() ? value.value_or(1) : 1);
  Field filters = r.at(f, "filters");
  if (r.ok() && !r.items(filters).empty()) {
    r.fail(filters.path, "not supported by weft; put the filters on the rule");
  }
  r.only_known_keys(f, {"group", "kind", "name", "namespace", "port", "weight", "filters"});
  return backend;
}

RouteTimeouts read_timeouts(FieldReader& r, const Field& f) {
  RouteTimeouts timeouts;
  timeouts.request = read_duration(r, r.at(f, "request"));
  Field backend = r.at(f, "backendRequest");
  timeouts.backend_request = read_duration(r, backend);
  if (r.ok() && timeouts.request && timeouts.backend_request && timeouts.request->count() != 0 &&
      *timeouts.backend_request > *timeouts.request) {
    r.fail(backend.path, "cannot be longer than the request timeout");
  }
  r.only_known_keys(f, {"request", "backendRequest"});
  return timeouts;
}

/// gRPC status names by code (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
constexpr std::array<std::string_view, 17> kGrpcStatusNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

RouteRetry read_retry(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  RouteRetry retry;
  for (const Field& item : r.items(r.at(f, "codes"))) {
    uint16_t code = 0;
    if (rr.kind == Route::Kind::Http) {
      constexpr std::string_view kExpected = "an HTTP status code 400-599";
      auto value = r.integer(item, kExpected);
      if (r.ok() && !item.present) {
        r.fail(item.path, "required");
      } else if (value && (*value < 400 || *value > 599)) {
        r.fail(item.path, fmt::format("expected {}, got {}", kExpected, *value));
      }
      code = static_cast<uint16_t>(r.ok() ? *value : 0);
    } else {
      std::string name = r.required_text(item);
      auto it = std::find(kGrpcStatusNames.begin() + 1, kGrpcStatusNames.end(), name);
      if (r.ok() && it == kGrpcStatusNames.end()) {
        r.fail(item.path, fmt::format("expected a gRPC status name (CANCELLED, UNKNOWN, "
                                      "INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, "
                                      "ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, "
                                      "FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, "
                                      "INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED), got {}",
                                      quoted_excerpt(name)));
      }
      code = static_cast<uint16_t>(r.ok() ? it - kGrpcStatusNames.begin() : 0);
    }
    if (r.ok() && std::find(retry.codes.begin(), retry.codes.end(), code) != retry.codes.end()) {
      r.fail(item.path, fmt::format("duplicate code {}", detail::describe(*item.node)));
    }
    if (!r.ok()) {
      return retry;
    }
    retry.codes.push_back(code);
  }
  Field attempts = r.at(f, "attempts");
  constexpr std::string_view kAttempts = "an integer 1-2147483647";
  auto value = r.integer(attempts, kAttempts);
  if (value && (*value < 1 || *value > INT32_MAX)) {
    r.fail(attempts.path, fmt::format("expected {}, got {}", kAttempts, *value));
  } else if (value) {
    retry.attempts = static_cast<uint32_t>(*value);
  }
  retry.backoff = read_duration(r, r.at(f, "backoff"));
  r.only_known_keys(f, {"codes", "attempts", "backoff"});
  return retry;
}

/// The fields HTTPRoute and GRPCRoute rules share.
void read_rule(RouteReader& rr, const Field& f, RouteRule& rule) {
  FieldReader& r = rr.r;
  Field name = r.at(f, "name");
  rule.name = r.text(name);
  if (name.present && r.ok() && !detail::is_dns_subdomain(rule.name)) {
    r.fail(name.path, fmt::format("expected a DNS-1123 name (lowercase letters, digits, '-', '.'), "
                                  "got {}",
                                  quoted_excerpt(rule.name)));
  }
  read_filters(r, r.at(f, "filters"), rule);
  for (const Field& b : r.bounded_items(r.at(f, "backendRefs"), 16)) {
    rule.backends.push_back(read_backend_ref(rr, b));
  }
  Field timeouts = r.at(f, "timeouts");
  if (timeouts.present) {
    rule.timeouts = read_timeouts(r, timeouts);
  }
  Field retry = r.at(f, "retry");
  if (retry.present) {
    rule.retry = read_retry(rr, retry);
  }
  Field persistence = r.at(f, "sessionPersistence");
  if (r.ok() && persistence.present) {
    r.fail(persistence.path, "not supported by weft");
  }
  r.only_known_keys(
      f, {"name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence"});
}

/// A hostname of spec.hostnames: a DNS name, optionally "*." first; not an IP address.
bool is_route_hostname(std::string_view text) {
  if (text.size() > 253 || IpAddr::parse(text)) {
    return false;
  }
  if (text.starts_with("*.")) {
    text.remove_prefix(2);
  }
  return detail::is_dns_subdomain(text);
}

ParentRef read_parent_ref(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  ParentRef parent;
  parent.group = read_group(r, r.at(f, "group"), "gateway.networking.k8s.io");
  parent.kind = read_kind(r, r.at(f, "kind"), "Gateway");
  parent.ns = read_namespace(r, r.at(f, "namespace"), rr.ns);
  Field name = r.at(f, "name");
  parent.name = r.name(name);
  if (r.ok() && parent.name.empty()) {
    r.fail(name.path, "required");
  }
  parent.section_name = r.name(r.at(f, "sectionName"));
  Field port = r.at(f, "port");
  if (port.present) {
    parent.port = r.port(port);
  }
  r.only_known_keys(f, {"group", "kind", "namespace", "name", "sectionName", "port"});
  return parent;
}

/// metadata.creationTimestamp, spec.parentRefs and spec.hostnames; returns spec.
Field read_route_head(RouteReader& rr, const Field& root, Route& route, Meta meta) {
  FieldReader& r = rr.r;
  route.name = std::move(meta.name);
  route.ns = std::move(meta.ns);
  Field created = r.at(r.at(root, "metadata"), "creationTimestamp");
  std::string text = r.text(created);
  if (created.present && r.ok()) {
    route.created = parse_time(text);
    if (!route.created) {
      r.fail(created.path, fmt::format("expected an RFC 3339 time such as "
                                       "\"2024-05-01T12:00:00Z\", got {}",
                                       quoted_excerpt(text)));
    }
  }
  Field spec = r.at(root, "spec");
  for (const Field& f : r.bounded_items(r.at(spec, "parentRefs"), 32)) {
    route.parents.push_back(read_parent_ref(rr, f));
  }
  for (const Field& f : r.bounded_items(r.at(spec, "hostnames"), 16)) {
    std::string hostname = r.required_text(f);
    if (r.ok() && !is_route_hostname(hostname)) {
      r.fail(f.path, fmt::format("expected a hostname such as \"example.com\" or "
                                 "\"*.example.com\" (lowercase, not an IP address), got {}",
                                 quoted_excerpt(hostname)));
    }
    if (!r.ok()) {
      break;
    }
    route.hostnames.push_back(std::move(hostname));
  }
  return spec;
}

/// Reads spec.rules with `read_matches(rule field, rule)`; checks the Gateway API bounds.
template <class Rule, class ReadMatches>
std::vector<Rule> read_rules(RouteReader& rr, const Field& spec, ReadMatches read_matches) {
  FieldReader& r = rr.r;
  std::vector<Rule> rules;
  std::size_t total_matches = 0;
  Field list = r.at(spec, "rules");
  for (const Field& f : r.bounded_items(list, 16)) {
    Rule rule;
    Field matches = r.at(f, "matches");
    std::vector<Field> items = r.bounded_items(matches, 64);
    total_matches += items.size();
    for (const Field& m : items) {
      read_matches(m, rule);
    }
    read_rule(rr, f, rule);
    if (r.ok() && !rule.name.empty() &&
        std::any_of(rules.begin(), rules.end(),
                    [&rule](const Rule& other) { return other.name == rule.name; })) {
      r.fail(f.path + ".name", fmt::format("duplicate rule name {}", quoted_excerpt(rule.name)));
    }
    if (!r.ok()) {
      return rules;
    }
    rules.push_back(std::move(rule));
  }
  if (r.ok() && total_matches > 128) {
    r.fail(list.path, fmt::format("at most 128 matches across all rules, got {}", total_matches));
  }
  return rules;
}

/// Each rule's `route` metric label (RouteRule::metric_route).
template <class Rule>
void name_for_metrics(const Route& route, std::vector<Rule>& rules) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    rules[i].metric_route = fmt::format(
        "{}/{}", route.name, rules[i].name.empty() ? fmt::format("rule-{}", i) : rules[i].name);
  }
}

}  // namespace

HttpRoute read_http_route(RouteReader& rr, const Field& root, Meta meta) {
  FieldReader& r = rr.r;
  HttpRoute route;
  Field spec = read_route_head(rr, root, route, std::move(meta));
  Field rules = r.at(spec, "rules");
  if (r.ok() && rules.present && r.items(rules).empty()) {
    r.fail(rules.path, "at least one rule required (omit rules for the default rule)");
  }
  route.rules = read_rules<HttpRouteRule>(rr, spec, [&rr](const Field& m, HttpRouteRule& rule) {
    rule.matches.push_back(read_http_match(rr, m));
  });
  if (r.ok() && !rules.present) {
    // The API's default: one rule matching every request and sending it nowhere (a 500).
    route.rules.emplace_back();
  }
  for (HttpRouteRule& rule : route.rules) {
    if (rule.matches.empty()) {
      rule.matches.emplace_back();  // PathPrefix "/"
    }
  }
  name_for_metrics(route, route.rules);
  r.only_known_keys(spec, {"parentRefs", "hostnames", "rules"});
  r.only_known_keys(root, {"apiVersion", "kind", "metadata", "spec", "status"});
  return route;
}

GrpcRoute read_grpc_route(RouteReader& rr, const Field& root, Meta meta) {
  FieldReader& r = rr.r;
  GrpcRoute route;
  Field spec = read_route_head(rr, root, route, std::move(meta));
  route.rules = read_rules<GrpcRouteRule>(rr, spec, [&rr](const Field& m, GrpcRouteRule& rule) {
    rule.matches.push_back(read_grpc_match(rr, m));
  });
  for (GrpcRouteRule& rule : route.rules) {
    if (rule.matches.empty()) {
      rule.matches.emplace_back();  // every call
    }
  }
  name_for_metrics(route, route.rules);
  r.only_known_keys(spec, {"parentRefs", "hostnames", "rules"});
  r.only_known_keys(root, {"apiVersion", "kind", "metadata", "spec", "status"});
  return route;
}

}  // namespace weft::discovery::detail
