// Fuzzes what the agent reads from the Kubernetes API server, the way a reflector
// (agent/kube/Reflector.cpp) reads it: the answer to a LIST page (envelope, items decoded as the
// collection's kind, resourceVersion and continue token, which go back into the next request's
// query), a non-200 answer's Status, then a WATCH stream cut into lines as ApiClient delivers them
// (events applied to the store by "namespace/name" until a line that is not an event or an ERROR
// event ends the stream). What the store then holds becomes a World, whose lookups are checked as
// manifest_fuzz checks them.
//
// Input: byte 0 picks the collection from the watch table (modulo its size: '0' is node-pods,
// '1' pods, '2' services...), the rest is the server's body.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/discovery/Document.hpp"
#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/discovery/World.hpp"
#include "agent/kube/ApiObjects.hpp"
#include "agent/kube/Reflector.hpp"
#include "agent/kube/WatchTable.hpp"
#include "fuzz/world_checks.hpp"

namespace {

using weft::discovery::Object;
using weft::fuzz::check;
using weft::kube::WatchEvent;
using weft::kube::WatchSpec;
using Store = std::map<std::string, std::vector<Object>>;

/// A reflector's reading of one collection, without the client.
struct Mirror {
  const WatchSpec& spec;
  weft::discovery::DecodeLimits limits = weft::kube::ReflectorOptions{}.limits;
  Store store;
  std::string resource_version;

  explicit Mirror(const WatchSpec& s) : spec(s) {}

  /// Reflector::decode: the item as the collection's kind; identity-only collections keep only
  /// weft.io/* annotations.
  std::optional<std::vector<Object>> decode(const weft::discovery::DocNode& object,
                                            std::string_view source) {
    auto decoded =
        weft::discovery::decode_list_item(object, spec.api_version(), spec.kind, source, limits);
    if (!decoded) {
      check(decoded.error().message.find('\n') == std::string::npos);  // logged as one line
      return std::nullopt;
    }
    if (spec.identity_only) {
      for (auto& o : decoded->objects) {
        if (auto* pod = std::get_if<weft::discovery::Pod>(&o)) {
          std::erase_if(pod->annotations,
                        [](const auto& a) { return !a.first.starts_with("weft.io/"); });
        }
      }
    }
    return std::move(decoded->objects);
  }

  /// One LIST page answered 200; false when the body is not a list.
  bool list(std::string_view body) {
    auto doc = weft::discovery::parse_json(spec.path(), body, limits);
    if (!doc) {
      check(doc.error().message.find('\n') == std::string::npos);
      return false;
    }
    auto page = weft::kube::read_list(*doc);
    if (!page) {
      return false;
    }
    for (const auto* item : page->items) {
      check(item != nullptr);
      std::string key = weft::kube::object_key(*item);
      if (auto objects = decode(*item, "LIST")) {
        store[key] = std::move(*objects);
      }
    }
    resource_version = page->resource_version;
    check_escaped(page->continue_token);
    check_escaped(page->resource_version);
    return true;
  }

  /// One watch line; false ends the stream (Reflector::on_event).
  bool on_event(std::string_view line) {
    auto doc = weft::discovery::parse_json(spec.path(), line, limits);
    if (!doc) {
      return false;
    }
    auto event = weft::kube::read_event(*doc);
    if (!event) {
      return false;
    }
    check(event->object != nullptr && event->object->is_map());
    if (event->type == WatchEvent::Type::Error) {
      weft::kube::read_status(event->object);  // logged; a 410 means relist
      return false;
    }
    if (!event->resource_version.empty()) {
      resource_version = event->resource_version;
      check_escaped(resource_version);
    }
    if (event->type == WatchEvent::Type::Bookmark) {
      return true;
    }
    std::string key = weft::kube::object_key(*event->object);
    if (event->type == WatchEvent::Type::Deleted) {
      store.erase(key);
    } else if (auto objects = decode(*event->object, "WATCH")) {
      store[key] = std::move(*objects);
    }
    return true;
  }

  /// A stream's body as ApiClient cuts it: complete lines only, blank ones skipped.
  void watch(std::string_view body) {
    std::size_t start = 0;
    for (std::size_t nl; (nl = body.find('\n', start)) != std::string_view::npos; start = nl + 1) {
      std::string_view line = body.substr(start, nl - start);
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
        continue;
      }
      if (!on_event(line)) {
        return;
      }
    }
  }

  /// Values from the server go into the next request's query: escaped, they hold only
  /// unreserved characters and %XX, and unescape to themselves.
  static void check_escaped(std::string_view value) {
    std::string escaped = weft::kube::query_escape(value);
    std::string back;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
      char c = escaped[i];
      if (c == '%') {
        check(i + 2 < escaped.size());
        auto hex = [](char h) {
          check((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'));
          return h <= '9' ? h - '0' : h - 'A' + 10;
        };
        back.push_back(static_cast<char>(hex(escaped[i + 1]) * 16 + hex(escaped[i + 2])));
        i += 2;
      } else {
        check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~');
        back.push_back(c);
      }
    }
    check(back == value);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  auto table = weft::kube::watch_table();
  Mirror mirror(table[static_cast<uint8_t>(data[0] - '0') % table.size()]);
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  if (!mirror.list(body)) {
    // As a non-200 answer: its Status, or the start of the body for the log. (A list page is
    // never one: not parsed a second time.)
    auto status = weft::kube::read_status(body);
    if (status.code == 0) {
      check(status.message == body.substr(0, 200));
    }
  }
  mirror.watch(body);

  std::vector<Object> objects;
  for (auto& [key, list] : mirror.store) {
    objects.insert(objects.end(), list.begin(), list.end());
  }
  weft::fuzz::exercise(*weft::discovery::World::build(std::move(objects)));
  return 0;
}
