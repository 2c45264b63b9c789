#include "l7/RouteMatch.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <tuple>

namespace weft::l7 {
namespace {

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower_ascii(x) == lower_ascii(y);
         });
}

bool iends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && iequals(text.substr(text.size() - suffix.size()), suffix);
}

/// The host of an authority: without its port (and userinfo) and without a trailing dot.
std::string_view host_of(std::string_view authority) {
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  std::string_view host = authority.substr(0, authority.find(':'));
  if (host.ends_with('.')) {
    host.remove_suffix(1);
  }
  return host;
}

/// Gateway API precedence of a match, compared lexicographically: larger wins.
/// HTTPRoute: non-wildcard hostname characters, hostname characters, path kind (Exact 3,
/// RegularExpression 2, PathPrefix 1), path characters, method (1/0), header matches, query
/// parameter matches.
/// GRPCRoute: non-wildcard hostname characters, hostname characters, Exact service characters,
/// Exact method characters, RegularExpression service characters, RegularExpression method
/// characters, header matches.
using Key = std::array<std::size_t, 7>;

struct HostScore {
  std::size_t exact = 0;  ///< characters of a matching non-wildcard hostname
  std::size_t any = 0;    ///< characters of a matching hostname
};

/// How specifically `route` names `host`; nullopt when it has hostnames and none matches.
std::optional<HostScore> host_score(const Route& route, std::string_view host) {
  if (route.hostnames.empty()) {
    return HostScore{};
  }
  std::optional<HostScore> best;
  for (const std::string& name : route.hostnames) {
    HostScore score;
    if (name.starts_with("*.")) {
      // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
      std::string_view suffix = std::string_view(name).substr(1);
      if (host.size() <= suffix.size() || !iends_with(host, suffix)) {
        continue;
      }
      score.any = name.size();
    } else {
      if (!iequals(host, name)) {
        continue;
      }
      score.exact = name.size();
      score.any = name.size();
    }
    if (!best || std::tie(score.exact, score.any) > std::tie(best->exact, best->any)) {
      best = score;
    }
  }
  return best;
}

/// Buffers for the rare requests whose values need rewriting before a comparison.
struct Scratch {
  std::string header;
  std::string name;
  std::string value;
};

/// The value of header `name` (lower case): the field's value or, when the field is repeated,
/// the values joined with "," ("; " for cookie, RFC 9113 8.2.3) in `scratch`.
std::optional<std::string_view> header_value(const Headers& headers, std::string_view name,
                                             std::string& scratch) {
  std::optional<std::string_view> found;
  bool joined = false;
  for (const Header& header : headers) {
    if (!iequals(header.name, name)) {
      continue;
    }
    if (!found) {
      found = header.value;
      continue;
    }
    if (!joined) {
      scratch.assign(*found);
      joined = true;
    }
    scratch += name == "cookie" ? "; " : ",";
    scratch += header.value;
  }
  if (joined) {
    return std::string_view(scratch);
  }
  return found;
}

bool value_matches(const ValueMatch& match, std::string_view text) {
  if (match.type == MatchType::Exact) {
    return text == match.value;
  }
  return regex_full_match(match.regex, text);
}

/// Whether every header match holds (a header match on an absent header fails).
bool headers_match(std::span<const ValueMatch> matches, const Headers& headers, Scratch& scratch) {
  return std::all_of(matches.begin(), matches.end(), [&](const ValueMatch& match) {
    auto value = header_value(headers, match.name, scratch.header);
    return value && value_matches(match, *value);
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = lower_ascii(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/// `text` with %XX escapes decoded (into `scratch` when it has any); a malformed escape stays
/// as it is and '+' stays '+'.
std::string_view percent_decoded(std::string_view text, std::string& scratch) {
  if (text.find('%') == std::string_view::npos) {
    return text;
  }
  scratch.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    int high = -1;
    int low = -1;
    if (text[i] == '%' && i + 2 < text.size()) {
      high = hex_value(text[i + 1]);
      low = hex_value(text[i + 2]);
    }
    if (high >= 0 && low >= 0) {
      scratch += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      scratch += text[i];
    }
  }
  return scratch;
}

/// The first value of query parameter `name` in `query` (names and values percent-decoded; a
/// parameter without '=' has the value "").
std::optional<std::string_view> query_value(std::string_view query, std::string_view name,
                                            Scratch& scratch) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (percent_decoded(key, scratch.name) != name) {
      continue;
    }
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    return percent_decoded(value, scratch.value);
  }
  return std::nullopt;
}

/// Path kind and characters of a path match that holds for `path`; nullopt when it does not.
std::optional<std::pair<std::size_t, std::size_t>> path_score(const PathMatch& match,
                                                              std::string_view path) {
  switch (match.type) {
    case PathMatch::Type::Exact:
      if (path != match.value) {
        return std::nullopt;
      }
      return std::pair<std::size_t, std::size_t>{3, match.value.size()};
    case PathMatch::Type::RegularExpression:
      if (!regex_full_match(match.regex, path)) {
        return std::nullopt;
      }
      return std::pair<std::size_t, std::size_t>{2, match.value.size()};
    case PathMatch::Type::PathPrefix:
      break;
  }
  // By whole segments, a trailing '/' of the prefix ignored: "/foo" and "/foo/" both match
  // "/foo", "/foo/" and "/foo/bar", not "/foobar".
  std::string_view prefix = match.value;
  while (prefix.size() > 1 && prefix.ends_with('/')) {
    prefix.remove_suffix(1);
  }
  if (prefix != "/" &&
      (!path.starts_with(prefix) || (path.size() > prefix.size() && path[prefix.size()] != '/'))) {
    return std::nullopt;
  }
  return std::pair<std::size_t, std::size_t>{1, prefix.size()};
}

/// The ":path" split at '?'.
struct Target {
  std::string_view path;
  std::string_view query;
};

Target split_target(std::string_view target) {
  auto question = target.find('?');
  if (question == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, question), target.substr(question + 1)};
}

std::optional<Key> http_match_key(const HttpRouteMatch& match, const RequestFacts& req,
                                  const Target& target, const HostScore& host, Scratch& scratch) {
  if (!match.method.empty() && req.method != match.method) {
    return std::nullopt;
  }
  auto path = path_score(match.path, target.path);
  if (!path || !headers_match(match.headers, req.headers, scratch)) {
    return std::nullopt;
  }
  for (const ValueMatch& param : match.query_params) {
    auto value = query_value(target.query, param.name, scratch);
    if (!value || !value_matches(param, *value)) {
      return std::nullopt;
    }
  }
  return Key{host.exact,
             host.any,
             path->first,
             path->second,
             match.method.empty() ? 0U : 1U,
             match.headers.size(),
             match.query_params.size()};
}

/// "/<service>/<method>" of a gRPC request; `valid` false for any other path.
struct GrpcName {
  std::string_view service;
  std::string_view method;
  bool valid = false;
};

GrpcName grpc_name(std::string_view path) {
  if (!path.starts_with('/')) {
    return {};
  }
  path.remove_prefix(1);
  auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size() ||
      path.find('/', slash + 1) != std::string_view::npos) {
    return {};
  }
  return {path.substr(0, slash), path.substr(slash + 1), true};
}

/// {Exact service, Exact method, RegularExpression service, RegularExpression method}
/// characters of a method match that holds; nullopt when it does not.
std::optional<std::array<std::size_t, 4>> method_score(const std::optional<GrpcMethodMatch>& match,
                                                       const GrpcName& name) {
  if (!match) {
    return std::array<std::size_t, 4>{};
  }
  if (!name.valid) {
    return std::nullopt;
  }
  if (match->type == MatchType::Exact) {
    if ((!match->service.empty() && name.service != match->service) ||
        (!match->method.empty() && name.method != match->method)) {
      return std::nullopt;
    }
    return std::array<std::size_t, 4>{match->service.size(), match->method.size(), 0, 0};
  }
  if ((!match->service.empty() && !regex_full_match(match->service_regex, name.service)) ||
      (!match->method.empty() && !regex_full_match(match->method_regex, name.method))) {
    return std::nullopt;
  }
  return std::array<std::size_t, 4>{0, 0, match->service.size(), match->method.size()};
}

struct Best {
  const Route* route;
  const RouteRule* rule;
  Key key;
};

/// Keeps the higher key; on a tie the older route (route_precedes), and within one route the
/// earlier rule (offered first).
void offer(std::optional<Best>& best, const Route& route, const RouteRule& rule, const Key& key) {
  if (!best || key > best->key ||
      (key == best->key && best->route != &route && route_precedes(route, *best->route))) {
    best = Best{&route, &rule, key};
  }
}

std::optional<Best> best_grpc(std::span<const Route* const> routes, const RequestFacts& req,
                              std::string_view host, const Target& target, Scratch& scratch) {
  std::optional<Best> best;
  GrpcName name = grpc_name(target.path);
  for (const Route* route : routes) {
    if (route == nullptr || route->kind != Route::Kind::Grpc) {
      continue;
    }
    auto hosts = host_score(*route, host);
    if (!hosts) {
      continue;
    }
    for (const auto& rule : static_cast<const GrpcRoute*>(route)->rules) {
      for (const auto& match : rule.matches) {
        auto method = method_score(match.method, name);
        if (!method || !headers_match(match.headers, req.headers, scratch)) {
          continue;
        }
        offer(best, *route, rule,
              Key{hosts->exact, hosts->any, (*method)[0], (*method)[1], (*method)[2], (*method)[3],
                  match.headers.size()});
      }
    }
  }
  return best;
}

std::optional<Best> best_http(std::span<const Route* const> routes, const RequestFacts& req,
                              std::string_view host, const Target& target, Scratch& scratch) {
  std::optional<Best> best;
  for (const Route* route : routes) {
    if (route == nullptr || route->kind != Route::Kind::Http) {
      continue;
    }
    auto hosts = host_score(*route, host);
    if (!hosts) {
      continue;
    }
    for (const auto& rule : static_cast<const HttpRoute*>(route)->rules) {
      for (const auto& match : rule.matches) {
        if (auto key = http_match_key(match, req, target, *hosts, scratch)) {
          offer(best, *route, rule, *key);
        }
      }
    }
  }
  return best;
}

/// A backend by weight: `random` modulo the total weight picks a point on the weights laid end
/// to end (the bias of the modulo is below total / 2^64, at most 2^-40).
const BackendRef* pick_backend(const RouteRule& rule, uint64_t random) {
  uint64_t total = 0;
  for (const BackendRef& backend : rule.backends) {
    total += backend.weight;
  }
  if (total == 0) {
    return nullptr;
  }
  uint64_t point = random % total;
  for (const BackendRef& backend : rule.backends) {
    if (point < backend.weight) {
      return &backend;
    }
    point -= backend.weight;
  }
  return nullptr;
}

}  // namespace

std::optional<RouteChoice> match_route(std::span<const Route* const> routes,
                                       const RequestFacts& req, uint64_t random) {
  if (routes.empty()) {
    return std::nullopt;
  }
  std::string_view host = host_of(req.authority);
  Target target = split_target(req.path);
  Scratch scratch;
  // World::routes_for() gives GRPCRoutes or HTTPRoutes, never both (GEP-1426): a gRPC request
  // tries the GRPCRoutes where there are some, and the HTTPRoutes where there are none.
  std::optional<Best> best;
  if (req.grpc) {
    best = best_grpc(routes, req, host, target, scratch);
  }
  if (!best) {
    best = best_http(routes, req, host, target, scratch);
  }
  if (!best) {
    return std::nullopt;
  }
  return RouteChoice{best->route, best->rule, pick_backend(*best->rule, random)};
}

void apply_header_filter(const HeaderModifier& filter, Headers& headers) {
  if (!filter.remove.empty()) {
    std::erase_if(headers, [&filter](const Header& header) {
      return std::any_of(filter.remove.begin(), filter.remove.end(),
                         [&header](const std::string& name) { return iequals(header.name, name); });
    });
  }
  for (const HttpHeader& set : filter.set) {
    auto named = [&set](const Header& header) { return iequals(header.name, set.name); };
    auto first = std::find_if(headers.begin(), headers.end(), named);
    if (first == headers.end()) {
      headers.push_back(Header{set.name, set.value});
      continue;
    }
    first->name = set.name;
    first->value = set.value;
    headers.erase(std::remove_if(first + 1, headers.end(), named), headers.end());
  }
  for (const HttpHeader& add : filter.add) {
    headers.push_back(Header{add.name, add.value});
  }
}

}  // namespace weft::l7
