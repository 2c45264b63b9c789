#include "agent/discovery/FieldReader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "agent/discovery/Text.hpp"

namespace weft::discovery::detail {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string describe(const DocNode& node) {
  switch (node.type) {
    case DocNode::Type::Null:
      return "null";
    case DocNode::Type::Map:
      return "a map";
    case DocNode::Type::List:
      return "a list";
    case DocNode::Type::Scalar:
      break;
  }
  return quoted_excerpt(node.scalar);
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

Field FieldReader::root(const DocNode& node) {
  return Field{&node, std::string(), !node.is_null()};
}

Field FieldReader::at(const Field& map, std::string_view key) {
  std::string path = map.path.empty() ? std::string(key) : fmt::format("{}.{}", map.path, key);
  if (!map.present || !charge(1)) {
    return Field{&kAbsent, std::move(path), false};
  }
  if (!map.node->is_map()) {
    fail(map.path, fmt::format("expected a map, got {}", describe(*map.node)));
    return Field{&kAbsent, std::move(path), false};
  }
  if (!charge(map.node->entries.size())) {
    return Field{&kAbsent, std::move(path), false};
  }
  for (const auto& [k, value] : map.node->entries) {
    if (k->is_scalar() && k->scalar == key) {
      return Field{value, std::move(path), !value->is_null()};  // the first of duplicate keys
    }
  }
  return Field{&kAbsent, std::move(path), false};
}

std::vector<Field> FieldReader::items(const Field& list) {
  std::vector<Field> out;
  if (!list.present || !charge(1)) {
    return out;
  }
  if (!list.node->is_list()) {
    fail(list.path, fmt::format("expected a list, got {}", describe(*list.node)));
    return out;
  }
  if (!charge(list.node->items.size())) {
    return out;
  }
  out.reserve(list.node->items.size());
  std::size_t index = 0;
  for (const DocNode* value : list.node->items) {
    out.push_back(Field{value, fmt::format("{}[{}]", list.path, index++), !value->is_null()});
  }
  return out;
}

std::string FieldReader::text(const Field& field, std::string_view fallback) {
  if (!field.present || !ok()) {
    return std::string(fallback);
  }
  if (!field.node->is_scalar()) {
    fail(field.path, fmt::format("expected a string, got {}", describe(*field.node)));
    return std::string(fallback);
  }
  return field.node->scalar;
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
  if (!field.present || !field.node->is_scalar() || !field.node->plain) {
    return false;
  }
  const std::string& s = field.node->scalar;
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
    std::string_view s = field.node->scalar;
    if (s.front() == '+') {
      s.remove_prefix(1);
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc{} && ptr == s.data() + s.size()) {
      return value;
    }
  }
  fail(field.path, fmt::format("expected {}, got {}", expected, describe(*field.node)));
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
  if (field.node->is_scalar() && field.node->plain) {
    // YAML 1.2 core schema spellings only; yaml-cpp would also take "yes"/"on" (YAML 1.1).
    const std::string& s = field.node->scalar;
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
  }
  fail(field.path, fmt::format("expected true or false, got {}", describe(*field.node)));
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
  if (!field.node->is_map()) {
    fail(field.path, fmt::format("expected a map of strings, got {}", describe(*field.node)));
    return out;
  }
  if (!charge(field.node->entries.size())) {
    return out;
  }
  for (const auto& [key, value] : field.node->entries) {
    if (!key->is_scalar()) {
      fail(field.path, fmt::format("expected string keys, got {}", describe(*key)));
      return {};
    }
    if (value->is_null()) {
      out[key->scalar];  // kubectl reads a null label value as ""
      continue;
    }
    if (!value->is_scalar()) {
      fail(fmt::format("{}[{}]", field.path, quoted_excerpt(key->scalar)),
           fmt::format("expected a string, got {}", describe(*value)));
      return {};
    }
    out[key->scalar] = value->scalar;
  }
  return out;
}

void FieldReader::only_known_keys(const Field& map, std::initializer_list<std::string_view> known) {
  if (!ok() || !map.present || !map.node->is_map()) {
    return;
  }
  std::vector<std::string_view> seen;
  for (const auto& entry : map.node->entries) {
    if (!entry.first->is_scalar()) {
      fail(map.path, fmt::format("expected string keys, got {}", describe(*entry.first)));
      return;
    }
    std::string_view key = entry.first->scalar;
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
