#include "agent/discovery/RouteMatchDecoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "agent/discovery/Ascii.hpp"
#include "agent/discovery/Text.hpp"
#include "l7/Regex.hpp"

namespace weft::discovery::detail {
namespace {

/// HTTP header names (RFC 7230 tokens), as Gateway API's HeaderName pattern allows.
bool is_header_name(std::string_view text) {
  return !text.empty() && text.size() <= 256 && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alpha(c) || is_digit(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace

Regex RouteReader::regex(const Field& field, std::string_view pattern) {
  if (!r.ok()) {
    return nullptr;
  }
  auto regex = l7::compile_regex(pattern);
  if (!regex) {
    const l7::RegexError& e = regex.error();
    r.fail(field.path, e.kind == l7::RegexError::Kind::TooLarge
                           ? fmt::format("regular expression {} is too large ({}); lower its "
                                         "{{n,m}} bounds",
                                         quoted_excerpt(pattern), escape(e.reason))
                           : fmt::format("invalid RE2 regular expression {}: {}",
                                         quoted_excerpt(pattern), escape(e.reason)));
    return nullptr;
  }
  std::size_t size = l7::regex_program_size(**regex);
  if (size > regex_program_left) {
    r.fail(field.path, fmt::format("the regular expressions of this input compile to more than {} "
                                   "RE2 instructions; move some routes to another file",
                                   limits.max_regex_program_size));
    return nullptr;
  }
  regex_program_left -= size;
  return *std::move(regex);
}

std::string read_header_name(FieldReader& r, const Field& field, std::string_view what) {
  std::string name = r.required_text(field);
  if (r.ok() && !is_header_name(name)) {
    r.fail(field.path,
           fmt::format("expected {} (1-256 letters, digits and !#$%&'*+-.^_`|~), got {}", what,
                       quoted_excerpt(name)));
  }
  return name;
}

namespace {

MatchType read_match_type(FieldReader& r, const Field& field) {
  std::string type = r.text(field, "Exact");
  if (r.ok() && type == "RegularExpression") {
    return MatchType::RegularExpression;
  }
  if (r.ok() && type != "Exact") {
    r.fail(field.path,
           fmt::format("expected Exact or RegularExpression, got {}", quoted_excerpt(type)));
  }
  return MatchType::Exact;
}

/// headers[] (`header`: names compare case-insensitively) or queryParams[] of a match.
std::vector<ValueMatch> read_value_matches(RouteReader& rr, const Field& list, bool header) {
  FieldReader& r = rr.r;
  std::vector<ValueMatch> out;
  std::vector<std::string> written;  // names as written: the API rejects exact duplicates
  for (const Field& f : r.bounded_items(list, 16)) {
    ValueMatch match;
    match.type = read_match_type(r, r.at(f, "type"));
    Field name = r.at(f, "name");
    std::string as_written =
        read_header_name(r, name, header ? "an HTTP header name" : "a query parameter name");
    Field value = r.at(f, "value");
    match.value = r.required_text(value);
    r.check_length(value, match.value, header ? 4096 : 1024);
    if (match.type == MatchType::RegularExpression) {
      match.regex = rr.regex(value, match.value);
    }
    r.only_known_keys(f, {"type", "name", "value"});
    if (r.ok() && std::find(written.begin(), written.end(), as_written) != written.end()) {
      r.fail(name.path, fmt::format("duplicate name {}", quoted_excerpt(as_written)));
    }
    if (!r.ok()) {
      return {};
    }
    written.push_back(as_written);
    match.name = header ? lower(as_written) : as_written;
    bool equivalent = std::any_of(out.begin(), out.end(),
                                  [&match](const ValueMatch& m) { return m.name == match.name; });
    if (!equivalent) {  // "Foo" after "foo": the Gateway API says only the first one counts
      out.push_back(std::move(match));
    }
  }
  return out;
}

/// Why a path value of an Exact or PathPrefix match is invalid (Gateway API's CEL rules), or
/// nullopt.
std::optional<std::string_view> path_problem(std::string_view path) {
  if (!path.starts_with('/')) {
    return "expected an absolute path starting with \"/\"";
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kForbidden = {{
      {"//", "must not contain \"//\""},
      {"/./", "must not contain \"/./\""},
      {"/../", "must not contain \"/../\""},
      {"%2f", "must not contain \"%2f\""},
      {"%2F", "must not contain \"%2F\""},
      {"#", "must not contain \"#\""},
  }};
  for (const auto& [bad, reason] : kForbidden) {
    if (path.find(bad) != std::string_view::npos) {
      return reason;
    }
  }
  if (path.ends_with("/..")) {
    return "must not end with \"/..\"";
  }
  if (path.ends_with("/.")) {
    return "must not end with \"/.\"";
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      auto hex = [](char h) {
        return is_digit(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
      };
      if (i + 2 >= path.size() || !hex(path[i + 1]) || !hex(path[i + 2])) {
        return "has a '%' not followed by two hex digits";
      }
      i += 2;
    } else if (!is_alpha(c) && !is_digit(c) &&
               std::string_view("-/._~!$&'()*+,;=:@").find(c) == std::string_view::npos) {
      return "may only hold letters, digits, -/._~!$&'()*+,;=:@ and %XX escapes";
    }
  }
  return std::nullopt;
}

PathMatch read_path_match(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  PathMatch path;
  Field type = r.at(f, "type");
  std::string name = r.text(type, "PathPrefix");
  if (name == "Exact") {
    path.type = PathMatch::Type::Exact;
  } else if (name == "RegularExpression") {
    path.type = PathMatch::Type::RegularExpression;
  } else if (r.ok() && name != "PathPrefix") {
    r.fail(type.path, fmt::format("expected Exact, PathPrefix or RegularExpression, got {}",
                                  quoted_excerpt(name)));
  }
  Field value = r.at(f, "value");
  path.value = r.text(value, "/");
  r.check_length(value, path.value, 1024);
  if (!r.ok()) {
    return path;
  }
  if (path.type == PathMatch::Type::RegularExpression) {
    path.regex = rr.regex(value, path.value);
  } else if (auto problem = path_problem(path.value)) {
    r.fail(value.path, fmt::format("{}, got {}", *problem, quoted_excerpt(path.value)));
  }
  r.only_known_keys(f, {"type", "value"});
  return path;
}

bool is_http_method(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kMethods = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return std::find(kMethods.begin(), kMethods.end(), method) != kMethods.end();
}

}  // namespace

HttpRouteMatch read_http_match(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  HttpRouteMatch match;
  match.path = read_path_match(rr, r.at(f, "path"));
  match.headers = read_value_matches(rr, r.at(f, "headers"), true);
  match.query_params = read_value_matches(rr, r.at(f, "queryParams"), false);
  Field method = r.at(f, "method");
  match.method = r.text(method);
  if (method.present && r.ok() && !is_http_method(match.method)) {
    r.fail(method.path,
           fmt::format("expected GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE or PATCH, "
                       "got {}",
                       quoted_excerpt(match.method)));
  }
  r.only_known_keys(f, {"path", "headers", "queryParams", "method"});
  return match;
}

namespace {

/// A protobuf full name ("pkg.v1.Service", an optional leading '.') or, with `dots` false, a
/// method name: identifiers of letters, digits and '_' that do not start with a digit.
bool is_proto_name(std::string_view text, bool dots) {
  if (dots && text.starts_with('.')) {
    text.remove_prefix(1);
  }
  bool start = true;
  for (char c : text) {
    if (dots && c == '.' && !start) {
      start = true;
    } else if (is_alpha(c) || c == '_' || (!start && is_digit(c))) {
      start = false;
    } else {
      return false;
    }
  }
  return !start;
}

GrpcMethodMatch read_grpc_method(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  GrpcMethodMatch match;
  match.type = read_match_type(r, r.at(f, "type"));
  Field service = r.at(f, "service");
  match.service = r.text(service);
  r.check_length(service, match.service, 1024);
  Field method = r.at(f, "method");
  match.method = r.text(method);
  r.check_length(method, match.method, 1024);
  if (r.ok() && match.service.empty() && match.method.empty()) {
    r.fail(f.path, "service or method (or both) required");
  }
  if (match.type == MatchType::RegularExpression) {
    if (!match.service.empty()) {
      match.service_regex = rr.regex(service, match.service);
    }
    if (!match.method.empty()) {
      match.method_regex = rr.regex(method, match.method);
    }
  } else if (r.ok() && !match.service.empty() && !is_proto_name(match.service, true)) {
    r.fail(service.path, fmt::format("expected a gRPC service name such as "
                                     "\"helloworld.Greeter\", got {}",
                                     quoted_excerpt(match.service)));
  } else if (r.ok() && !match.method.empty() && !is_proto_name(match.method, false)) {
    r.fail(method.path, fmt::format("expected a gRPC method name such as \"SayHello\", got {}",
                                    quoted_excerpt(match.method)));
  }
  r.only_known_keys(f, {"type", "service", "method"});
  return match;
}

}  // namespace

GrpcRouteMatch read_grpc_match(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  GrpcRouteMatch match;
  Field method = r.at(f, "method");
  if (method.present) {
    match.method = read_grpc_method(rr, method);
  }
  match.headers = read_value_matches(rr, r.at(f, "headers"), true);
  r.only_known_keys(f, {"method", "headers"});
  return match;
}

}  // namespace weft::discovery::detail
