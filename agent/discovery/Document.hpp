// The parsed form of manifest input that every decoder reads: one tree type that YAML files and
// JSON text (what a Kubernetes API server sends) both produce, so that one decoder serves the
// manifest directory and the API watch. Scalars keep their text as written plus whether they may
// be read as a number or a boolean, which is all that YAML's scalar typing and JSON's types mean
// to a Kubernetes object; map keys keep their order and duplicates, so that a duplicate key is
// still refused where it matters (MeshPolicy, routes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/discovery/DecodeLimits.hpp"
#include "common/Error.hpp"

namespace weft::discovery {

/// One node of a parsed document. Nodes belong to their Document and point to each other.
struct DocNode {
  enum class Type : uint8_t { Null, Scalar, List, Map };

  Type type = Type::Null;
  /// A scalar that may be read as a number or a boolean: an unquoted YAML scalar (or one tagged
  /// !!int), a JSON number, true or false. A quoted YAML scalar and a JSON string are text only,
  /// as for the API server: `port: "80"` is not a port.
  bool plain = false;
  /// A scalar's text as written (JSON numbers too: "1.50" stays "1.50"); empty otherwise.
  std::string scalar;
  /// A list's elements.
  std::vector<const DocNode*> items;
  /// A map's keys and values in document order, duplicate keys kept.
  std::vector<std::pair<const DocNode*, const DocNode*>> entries;

  bool is_null() const { return type == Type::Null; }
  bool is_scalar() const { return type == Type::Scalar; }
  bool is_list() const { return type == Type::List; }
  bool is_map() const { return type == Type::Map; }
};

/// The documents of one input: their roots and every node they hold. A YAML alias is a second
/// pointer to its anchor's node, so aliases cost no memory (the decoder's visit budget,
/// DecodeLimits::max_visits, bounds the work they can cause). Nodes never move, also when the
/// Document does.
class Document {
 public:
  /// One root per document, in input order (a null node for an empty YAML document).
  std::span<const DocNode* const> roots() const { return roots_; }

 private:
  friend class DocumentBuilder;

  std::deque<DocNode> nodes_;
  std::vector<const DocNode*> roots_;
};

/// Parses every "---"-separated document of a YAML input (JSON is YAML). `source` names the input
/// in errors, e.g. `pods.yaml: invalid YAML at line 5, column 3: end of map not found` or
/// `pods.yaml: too large: more than 500000 YAML nodes`. Never throws.
Result<Document> parse_yaml(std::string_view source, std::string_view bytes,
                            const DecodeLimits& limits = {});

/// Parses one JSON text (RFC 8259), e.g. an object or a list from a Kubernetes API server, into a
/// Document with one root. Errors read `<source>: invalid JSON: parse error at line 1, column 9:
/// ...`. Never throws.
Result<Document> parse_json(std::string_view source, std::string_view text,
                            const DecodeLimits& limits = {});

}  // namespace weft::discovery
