// Typed, path-tracking reads from a parsed document tree (Document.hpp: from YAML or JSON), for the
// manifest decoder (internal header).
// Errors are sticky: the first failure is kept and every later read returns an empty value, so
// the decoder reads a whole object straight through and checks ok() once, without exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/discovery/Document.hpp"
#include "common/IpAddr.hpp"

namespace weft::discovery::detail {

/// The node of a missing field.
inline const DocNode kAbsent{};

/// A node of the document plus its path from the object root, e.g. "spec.ports[0].port".
/// `present` is false for a missing key and for an explicit null (JSON null = omitted).
struct Field {
  const DocNode* node = &kAbsent;  ///< never null: kAbsent when missing
  std::string path;
  bool present = false;
};

/// Reads fields of one object, charging every visited node to a budget shared by the whole file
/// (aliases can make a small file expand to a huge tree; the budget stops that).
class FieldReader {
 public:
  explicit FieldReader(std::size_t& budget) : budget_(budget) {}

  bool ok() const { return error_.empty(); }
  /// "path: reason" of the first failure.
  const std::string& error() const { return error_; }
  /// Records a failure at `path` unless one is already recorded.
  void fail(std::string_view path, std::string_view reason);

  /// The object itself (path "").
  Field root(const DocNode& node);
  /// `map[key]`; fails when `map` is present but not a map.
  Field at(const Field& map, std::string_view key);
  /// The elements of a list (none when absent); fails when present but not a list.
  std::vector<Field> items(const Field& list);
  /// Scalar text; `fallback` when absent; fails on a map or list.
  std::string text(const Field& field, std::string_view fallback = {});
  /// Like text() but fails when absent or empty.
  std::string required_text(const Field& field);
  /// A Kubernetes object name (DNS-1123 subdomain: lowercase alphanumerics, '-', '.', at most
  /// 253 bytes); `fallback` when absent. These names end up in metric labels and SPIFFE IDs.
  std::string name(const Field& field, std::string_view fallback = {});
  /// True when the field holds an unquoted integer literal.
  bool is_integer(const Field& field) const;
  /// An unquoted integer; nullopt (no failure) when absent; fails on anything else.
  std::optional<int64_t> integer(const Field& field, std::string_view expected);
  /// A TCP/UDP port 1-65535; fails when absent.
  uint16_t port(const Field& field);
  /// true/false; nullopt when absent.
  std::optional<bool> boolean(const Field& field);
  /// An IP address literal; nullopt when absent.
  std::optional<IpAddr> ip(const Field& field);
  /// A map of strings (labels, annotations); empty when absent.
  std::map<std::string, std::string> string_map(const Field& field);
  /// Fails on a key of `map` that is not in `known` or that appears twice: in a security object
  /// an ignored typo ("alow:") could silently widen access, in a route it could silently change
  /// where traffic goes. Call after an at() on the same map, which has charged its size.
  void only_known_keys(const Field& map, std::initializer_list<std::string_view> known);
  /// Gateway API's MaxItems: the elements of `list`; none, and a failure, when there are more
  /// than `max`.
  std::vector<Field> bounded_items(const Field& list, std::size_t max);
  /// Gateway API's MaxLength: fails when `text` is longer than `max` bytes.
  void check_length(const Field& field, std::string_view text, std::size_t max);

 private:
  bool charge(std::size_t units);

  std::size_t& budget_;
  std::string error_;
};

/// "a map", "a list", "null" or the quoted scalar, for "expected X, got Y" messages.
std::string describe(const DocNode& node);

/// Whether `text` is a DNS-1123 subdomain (what most Kubernetes object names must be).
bool is_dns_subdomain(std::string_view text);
/// Whether `text` is a DNS-1123 label (what a namespace name must be).
bool is_dns_label(std::string_view text);

}  // namespace weft::discovery::detail
