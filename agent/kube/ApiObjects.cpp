#include "agent/kube/ApiObjects.hpp"

#include <fmt/format.h>

#include <charconv>

namespace weft::kube {

using discovery::DocNode;

const DocNode* member(const DocNode* map, std::string_view key) {
  if (map == nullptr || !map->is_map()) {
    return nullptr;
  }
  for (const auto& [k, v] : map->entries) {
    if (k->is_scalar() && k->scalar == key) {
      return v;
    }
  }
  return nullptr;
}

std::string text_at(const DocNode* node, std::initializer_list<std::string_view> path) {
  for (std::string_view key : path) {
    node = member(node, key);
  }
  return node != nullptr && node->is_scalar() ? node->scalar : std::string();
}

std::string object_key(const DocNode& object) {
  return fmt::format("{}/{}", text_at(&object, {"metadata", "namespace"}),
                     text_at(&object, {"metadata", "name"}));
}

ApiStatus read_status(std::string_view body) {
  auto doc = discovery::parse_json("status", body);
  ApiStatus out = read_status(doc && !doc->roots().empty() ? doc->roots()[0] : nullptr);
  if (out.code == 0) {
    out.message = std::string(body.substr(0, 200));
  }
  return out;
}

ApiStatus read_status(const DocNode* root) {
  ApiStatus out;
  if (text_at(root, {"kind"}) != "Status") {
    return out;
  }
  std::string code = text_at(root, {"code"});
  std::from_chars(code.data(), code.data() + code.size(), out.code);
  out.reason = text_at(root, {"reason"});
  out.message = text_at(root, {"message"});
  return out;
}

std::optional<ListPage> read_list(const discovery::Document& doc) {
  const DocNode* root = doc.roots().empty() ? nullptr : doc.roots()[0];
  const DocNode* items = member(root, "items");
  if (items == nullptr || !(items->is_list() || items->is_null())) {
    return std::nullopt;
  }
  ListPage page;
  page.items = items->items;
  page.resource_version = text_at(root, {"metadata", "resourceVersion"});
  page.continue_token = text_at(root, {"metadata", "continue"});
  return page;
}

std::optional<WatchEvent> read_event(const discovery::Document& doc) {
  const DocNode* root = doc.roots().empty() ? nullptr : doc.roots()[0];
  std::string type = text_at(root, {"type"});
  WatchEvent event;
  if (type == "ADDED") {
    event.type = WatchEvent::Type::Added;
  } else if (type == "MODIFIED") {
    event.type = WatchEvent::Type::Modified;
  } else if (type == "DELETED") {
    event.type = WatchEvent::Type::Deleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEvent::Type::Bookmark;
  } else if (type == "ERROR") {
    event.type = WatchEvent::Type::Error;
  } else {
    return std::nullopt;
  }
  event.object = member(root, "object");
  if (event.object == nullptr || !event.object->is_map()) {
    return std::nullopt;
  }
  event.resource_version = text_at(event.object, {"metadata", "resourceVersion"});
  return event;
}

std::string query_escape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace weft::kube
