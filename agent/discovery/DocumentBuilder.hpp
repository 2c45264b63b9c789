// Builds a Document from a parser's events, enforcing the node, document and nesting limits as
// it goes, so that no tree larger than the limits ever exists (internal header of the YAML and
// JSON parsers).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/discovery/Document.hpp"

namespace weft::discovery {

/// Thrown by the builder when an input goes over a limit; the parsers turn it into their error.
struct TooLarge {
  std::string reason;  ///< e.g. "more than 500000 YAML nodes"
};

class DocumentBuilder {
 public:
  /// `unit` names a node in messages ("YAML nodes", "JSON values").
  DocumentBuilder(const DecodeLimits& limits, std::string_view unit)
      : limits_(limits), unit_(unit) {}

  void begin_document();
  void end_document();
  void null(std::size_t anchor = 0);
  void scalar(std::string text, bool plain, std::size_t anchor = 0);
  /// A second reference to the node of `anchor` in this document (a YAML alias).
  void alias(std::size_t anchor);
  void begin_list(std::size_t anchor = 0);
  void begin_map(std::size_t anchor = 0);
  /// Ends the innermost list or map.
  void end_collection();
  /// How many lists and maps are open.
  std::size_t depth() const { return open_.size(); }

  Document take() { return std::move(doc_); }

 private:
  DocNode& add(DocNode::Type type, std::size_t anchor);
  void attach(const DocNode* node);
  void count();

  const DecodeLimits& limits_;
  std::string_view unit_;
  Document doc_;
  std::vector<DocNode*> open_;        ///< lists and maps being filled, innermost last
  std::vector<const DocNode*> keys_;  ///< per open map: its pending key, or nullptr
  const DocNode* root_ = nullptr;     ///< the current document's root
  std::unordered_map<std::size_t, const DocNode*> anchors_;  ///< the current document's anchors
  std::size_t documents_ = 0;
  std::size_t nodes_ = 0;
};

}  // namespace weft::discovery
