#include "agent/discovery/FieldReader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "agent/discovery/Text.hpp"

namespace weft::discovery::detail {
namespace {

bool is_null(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull();
}

/// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!"; only a plain scalar or an
/// explicit !!int may be a number, as in JSON where "80" is a string and 80 a number.
bool may_be_number(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "tag:yaml.org,2002:int";
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string describe(const YAML::Node& node) {
  if (is_null(node)) {
    return "null";
  }
  if (node.IsMap()) {
    return "a map";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  return quoted_excerpt(node.Scalar());
}

bool is_dns_label(std::string_view text) {
  if (text.empty() || text.size() > 63 || text.front() == '-' || text.back() == '-') {
    return false;
  }
  for (char c : text) {
    if (!is_lower_alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

bool is_dns_subdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) {
    return false;
  }
  while (!text.empty()) {
    auto dot = text.find('.');
    if (!is_dns_label(text.substr(0, dot))) {
      return false;
    }
    text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
    if (dot != std::string_view::npos && text.empty()) {
      return false;  // trailing dot
    }
  }
  return true;
}

void FieldReader::fail(std::string_view path, std::string_view reason) {
  if (ok()) {
    error_ = path.empty() ? std::string(reason) : fmt::format("{}: {}", path, reason);
  }
}

bool FieldReader::charge(std::size_t units) {
  if (!ok()) {
    return false;
  }
  if (units > budget_) {
    budget_ = 0;
    fail("", "the file expands to too many nodes (aliases?); split it or remove aliases");
    return false;
  }
  budget_ -= units;
  return true;
}

Field FieldReader::root(const YAML::Node& node) {
  return Field{node, std::string(), !is_null(node)};
}

Field FieldReader::at(const Field& map, std::string_view key) {
  std::string path = map.path.empty() ? std::string(key) : fmt::format("{}.{}", map.path, key);
  if (!map.present || !charge(1)) {
    return Field{YAML::Node(), std::move(path), false};
  }
  if (!map.node.IsMap()) {
    fail(map.path, fmt::format("expected a map, got {}", describe(map.node)));
    return Field{YAML::Node(), std::move(path), false};
  }
  if (!charge(map.node.size())) {
    return Field{YAML::Node(), std::move(path), false};
  }
  // Iterating instead of operator[] never creates zombie nodes and never throws BadSubscript.
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      YAML::Node value = it->second;
      bool present = !is_null(value);
      return Field{std::move(value), std::move(path), present};
    }
  }
  return Field{YAML::Node(), std::move(path), false};
}

std::vector<Field> FieldReader::items(const Field& list) {
  std::vector<Field> out;
  if (!list.present || !charge(1)) {
    return out;
  }
  if (!list.node.IsSequence()) {
    fail(list.path, fmt::format("expected a list, got {}", describe(list.node)));
    return out;
  }
  if (!charge(list.node.size())) {
    return out;
  }
  out.reserve(list.node.size());
  std::size_t index = 0;
  for (auto it = list.node.begin(); it != list.node.end(); ++it, ++index) {
    YAML::Node value = *it;
    bool present = !is_null(value);
    out.push_back(Field{std::move(value), fmt::format("{}[{}]", list.path, index), present});
  }
  return out;
}

std::string FieldReader::text(const Field& field, std::string_view fallback) {
  if (!field.present || !ok()) {
    return std::string(fallback);
  }
  if (!field.node.IsScalar()) {
    fail(field.path, fmt::format("expected a string, got {}", describe(field.node)));
    return std::string(fallback);
  }
  return field.node.Scalar();
}

std::string FieldReader::required_text(const Field& field) {
  std::string value = text(field);
  if (value.empty()) {
    fail(field.path, "required");
  }
  return value;
}

std::string FieldReader::name(const Field& field, std::string_view fallback) {
  if (!field.present) {
    return std::string(fallback);
  }
  std::string value = text(field, fallback);
  if (ok() && !is_dns_subdomain(value)) {
    fail(field.path,
         fmt::format("expected a DNS-1123 name (lowercase letters, digits, '-', '.'), got {}",
                     quoted_excerpt(value)));
    return std::string(fallback);
  }
  return value;
}

bool FieldReader::is_integer(const Field& field) const {
  if (!field.present || !field.node.IsScalar() || !may_be_number(field.node)) {
    return false;
  }
  const std::string& s = field.node.Scalar();
  std::size_t start = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (start == s.size()) {
    return false;
  }
  for (std::size_t i = start; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

std::optional<int64_t> FieldReader::integer(const Field& field, std::string_view expected) {
  if (!field.present || !ok()) {
    return std::nullopt;
  }
  int64_t value = 0;
  if (is_integer(field)) {
    std::string_view s = field.node.Scalar();
    if (s.front() == '+') {
      s.remove_prefix(1);
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc{} && ptr == s.data() + s.size()) {
      return value;
    }
  }
  fail(field.path, fmt::format("expected {}, got {}", expected, describe(field.node)));
  return std::nullopt;
}

uint16_t FieldReader::port(const Field& field) {
  constexpr std::string_view kExpected = "an integer 1-65535";
  if (!field.present) {
    fail(field.path, "required");
    return 0;
  }
  auto value = integer(field, kExpected);
  if (!value) {
    return 0;
  }
  if (*value < 1 || *value > 65535) {
    fail(field.path, fmt::format("expected {}, got {}", kExpected, *value));
    return 0;
  }
  return static_cast<uint16_t>(*value);
}

std::optional<bool> FieldReader::boolean(const Field& field) {
  if (!field.present || !ok()) {
    return std::nullopt;
  }
  if (field.node.IsScalar() && may_be_number(field.node)) {
    // YAML 1.2 core schema spellings only; yaml-cpp would also take "yes"/"on" (YAML 1.1).
    const std::string& s = field.node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
  }
  fail(field.path, fmt::format("expected true or false, got {}", describe(field.node)));
  return std::nullopt;
}

std::optional<IpAddr> FieldReader::ip(const Field& field) {
  std::string value = text(field);
  if (!field.present || !ok()) {
    return std::nullopt;
  }
  auto parsed = IpAddr::parse(value);
  if (!parsed) {
    fail(field.path, fmt::format("expected an IP address, got {}", quoted_excerpt(value)));
  }
  return parsed;
}

std::map<std::string, std::string> FieldReader::string_map(const Field& field) {
  std::map<std::string, std::string> out;
  if (!field.present || !charge(1)) {
    return out;
  }
  if (!field.node.IsMap()) {
    fail(field.path, fmt::format("expected a map of strings, got {}", describe(field.node)));
    return out;
  }
  if (!charge(field.node.size())) {
    return out;
  }
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    if (!it->first.IsScalar()) {
      fail(field.path, fmt::format("expected string keys, got {}", describe(it->first)));
      return {};
    }
    const std::string& key = it->first.Scalar();
    if (is_null(it->second)) {
      out[key];  // kubectl reads a null label value as ""
      continue;
    }
    if (!it->second.IsScalar()) {
      fail(fmt::format("{}[{}]", field.path, quoted_excerpt(key)),
           fmt::format("expected a string, got {}", describe(it->second)));
      return {};
    }
    out[key] = it->second.Scalar();
  }
  return out;
}

void FieldReader::only_known_keys(const Field& map, std::initializer_list<std::string_view> known) {
  if (!ok() || !map.present || !map.node.IsMap()) {
    return;
  }
  std::vector<std::string_view> seen;
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    if (!it->first.IsScalar()) {
      fail(map.path, fmt::format("expected string keys, got {}", describe(it->first)));
      return;
    }
    std::string_view key = it->first.Scalar();
    bool is_known = std::find(known.begin(), known.end(), key) != known.end();
    // An unknown key is untrusted text: quoted, escaped and cut like any offending value.
    std::string shown = is_known ? std::string(key) : fmt::format("[{}]", quoted_excerpt(key));
    std::string path =
        map.path.empty() || !is_known ? map.path + shown : fmt::format("{}.{}", map.path, shown);
    if (!is_known) {
      std::string names;
      for (std::string_view k : known) {
        names += names.empty() ? "" : ", ";
        names += k;
      }
      fail(path, fmt::format("unknown field (expected one of: {})", names));
      return;
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      fail(path, "duplicate field");
      return;
    }
    seen.push_back(key);
  }
}

std::vector<Field> FieldReader::bounded_items(const Field& list, std::size_t max) {
  std::vector<Field> out = items(list);
  if (ok() && out.size() > max) {
    fail(list.path, fmt::format("at most {} entries, got {}", max, out.size()));
    out.clear();
  }
  return out;
}

void FieldReader::check_length(const Field& field, std::string_view text, std::size_t max) {
  if (ok() && text.size() > max) {
    fail(field.path, fmt::format("at most {} bytes, got {}", max, text.size()));
  }
}

}  // namespace weft::discovery::detail
