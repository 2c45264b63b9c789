// Reading what the API server sends beyond the objects themselves: list pages (items,
// resourceVersion, continue), watch events and Status answers. The objects go to the discovery
// decoders; this reads only the envelope and the metadata the reflector keys its store by.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/discovery/Document.hpp"

namespace weft::kube {

/// The member `key` of a map node, or null.
const discovery::DocNode* member(const discovery::DocNode* map, std::string_view key);
/// The text of a scalar at a path of members (e.g. {"metadata", "name"}), or "".
std::string text_at(const discovery::DocNode* node, std::initializer_list<std::string_view> path);

/// "namespace/name" of an object (namespace "" for cluster-scoped ones).
std::string object_key(const discovery::DocNode& object);

/// A `kind: Status` answer or watch ERROR object.
struct ApiStatus {
  long code = 0;
  std::string reason;   ///< e.g. "Expired", "NotFound"
  std::string message;  ///< the server's words
};
/// Reads a Status; a body that is not one gives code 0 and the body's first bytes as message.
ApiStatus read_status(std::string_view body);
/// Reads a parsed Status (a watch ERROR event's object); code 0 when it is not one.
ApiStatus read_status(const discovery::DocNode* status);

/// One page of a LIST answer.
struct ListPage {
  std::vector<const discovery::DocNode*> items;
  std::string resource_version;  ///< metadata.resourceVersion
  std::string continue_token;    ///< metadata.continue, "" on the last page
};
/// Reads a parsed list answer; nullopt when it is not a list (no `items` list).
std::optional<ListPage> read_list(const discovery::Document& doc);

/// One line of a watch stream.
struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error };
  Type type = Type::Error;
  const discovery::DocNode* object = nullptr;
  std::string resource_version;  ///< the object's metadata.resourceVersion
};
/// Reads a parsed watch line; nullopt when it is not `{"type": known, "object": {...}}`.
std::optional<WatchEvent> read_event(const discovery::Document& doc);

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string query_escape(std::string_view value);

}  // namespace weft::kube
