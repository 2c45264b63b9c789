#include "agent/discovery/ManifestDecoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/discovery/CoreDecoder.hpp"
#include "agent/discovery/Document.hpp"
#include "agent/discovery/FieldReader.hpp"
#include "agent/discovery/PolicyDecoder.hpp"
#include "agent/discovery/RouteDecoder.hpp"
#include "agent/discovery/Text.hpp"

namespace weft::discovery {
namespace {

using detail::Field;
using detail::FieldReader;
using detail::Meta;
using detail::read_grpc_route;
using detail::read_http_route;
using detail::read_mesh_policy;
using detail::read_meta;
using detail::read_pod;
using detail::read_service;
using detail::read_slice;
using detail::RouteReader;

/// weft's own API group; every kind and version in it must be one this decoder reads.
constexpr std::string_view kSecurityGroup = "security.weft.io";
constexpr std::string_view kSecurityVersion = "security.weft.io/v1alpha1";
/// The Gateway API version whose HTTPRoute and GRPCRoute the decoder reads.
constexpr std::string_view kGatewayVersion = "gateway.networking.k8s.io/v1";

/// State shared by every object of one input.
struct DecodeState {
  const DecodeLimits& limits;
  std::size_t visits_left;
  std::size_t regex_program_left;  ///< see DecodeLimits::max_regex_program_size
  Decoded out;
};

/// The kind an item of a typed list (PodList, ServiceList...) has when it omits kind/apiVersion,
/// as items of API list responses do.
struct ItemDefaults {
  std::string api_version;
  std::string kind;
};

/// The API versions the decoder knows, for one object's apiVersion.
struct ApiVersion {
  explicit ApiVersion(std::string_view v)
      : core(v == "v1"),
        discovery(v == "discovery.k8s.io/v1"),
        security(v == kSecurityVersion),
        gateway(v == kGatewayVersion) {}

  /// Whether the mesh reads objects of `kind` in this version (lists aside).
  bool reads(std::string_view kind) const {
    return (core && (kind == "Service" || kind == "Pod")) ||
           (discovery && kind == "EndpointSlice") || security ||
           (gateway && (kind == "HTTPRoute" || kind == "GRPCRoute"));
  }

  bool core;
  bool discovery;
  bool security;
  bool gateway;
};

std::string object_label(std::string_view kind, std::string_view ns, std::string_view name) {
  if (name.empty()) {
    return std::string(kind);
  }
  return fmt::format("{} {}/{}", kind, ns, name);
}

/// A kind as written, for messages: bare when it is a plain identifier ("PodList"), else quoted,
/// escaped and cut (it is untrusted text and a message is one line).
std::string shown_kind(std::string_view kind) {
  bool plain =
      !kind.empty() && kind.size() <= 64 && std::all_of(kind.begin(), kind.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      });
  return plain ? std::string(kind) : quoted_excerpt(kind);
}

bool is_typed_list(std::string_view kind) {
  return kind.size() > 4 && kind.ends_with("List");
}

/// Decodes one object (or list) node into `state.out`; returns the error message, if any.
std::optional<std::string> decode_node(DecodeState& state, const DocNode& node,
                                       const std::string& where, bool in_list,
                                       const ItemDefaults* defaults);

/// Decodes the items of a List (`kind` "List": items carry their own kind) or a typed list
/// ("PodList": items may omit kind and apiVersion).
std::optional<std::string> decode_list(DecodeState& state, FieldReader& r, const Field& root,
                                       const std::string& where, const std::string& api_version,
                                       const std::string& kind) {
  ItemDefaults item;
  if (kind != "List") {
    item = {api_version, kind.substr(0, kind.size() - 4)};
  }
  std::vector<Field> items = r.items(r.at(root, "items"));
  if (!r.ok()) {
    return fmt::format("{} ({}): {}", where, kind, r.error());
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto error = decode_node(state, *items[i].node, fmt::format("{} {}", where, items[i].path),
                             true, kind == "List" ? nullptr : &item);
    if (error) {
      return error;
    }
  }
  return std::nullopt;
}

/// Appends `object` to the input's objects when the reader has not failed.
template <class T>
void keep(DecodeState& state, const FieldReader& r, T&& object) {
  if (r.ok()) {
    state.out.objects.emplace_back(std::forward<T>(object));
  }
}

/// Reads one object of a kind the mesh reads (`kind` of `api`) into `state.out`; failures are
/// left in `r`.
void read_object(DecodeState& state, FieldReader& r, const Field& root, const ApiVersion& api,
                 const std::string& kind, Meta meta) {
  if (state.out.objects.size() >= state.limits.max_objects) {
    r.fail("", fmt::format("more than {} objects", state.limits.max_objects));
  } else if (kind == "Service") {
    keep(state, r, read_service(r, root, std::move(meta)));
  } else if (kind == "Pod") {
    keep(state, r, read_pod(r, root, std::move(meta)));
  } else if (api.security) {
    keep(state, r, read_mesh_policy(r, root, std::move(meta)));
  } else if (api.gateway) {
    RouteReader rr{r, state.regex_program_left, state.limits,
                   kind == "HTTPRoute" ? Route::Kind::Http : Route::Kind::Grpc, meta.ns};
    if (rr.kind == Route::Kind::Http) {
      keep(state, r, read_http_route(rr, root, std::move(meta)));
    } else {
      keep(state, r, read_grpc_route(rr, root, std::move(meta)));
    }
  } else {
    auto slice = read_slice(r, root, std::move(meta));
    if (slice && r.ok()) {
      state.out.objects.emplace_back(std::move(*slice));
    } else if (r.ok()) {
      ++state.out.ignored;
    }
  }
}

std::optional<std::string> decode_node(DecodeState& state, const DocNode& node,
                                       const std::string& where, bool in_list,
                                       const ItemDefaults* defaults) {
  FieldReader r(state.visits_left);
  Field root = r.root(node);
  if (!root.present) {
    return std::nullopt;  // an empty document, e.g. after a trailing "---"
  }
  if (!node.is_map()) {
    return fmt::format("{}: expected a Kubernetes object (a map), got {}", where,
                       detail::describe(node));
  }
  std::string api_version = r.text(r.at(root, "apiVersion"), defaults ? defaults->api_version : "");
  std::string kind = r.text(r.at(root, "kind"), defaults ? defaults->kind : "");
  if (r.ok() && kind.empty()) {
    r.fail("kind", "required");
  }
  if (r.ok() && api_version.empty()) {
    r.fail("apiVersion", "required");
  }
  if (!r.ok()) {
    return fmt::format("{}: {}", where, r.error());
  }
  ApiVersion api{api_version};
  if (api_version.starts_with(fmt::format("{}/", kSecurityGroup))) {
    // Never skip an object of our own security group: a policy the agent did not read would
    // leave pods open without a word.
    if (!api.security || (kind != "MeshPolicy" && kind != "MeshPolicyList")) {
      return fmt::format("{} ({}): apiVersion {} is not supported (expected {} MeshPolicy)", where,
                         shown_kind(kind), quoted_excerpt(api_version), kSecurityVersion);
    }
  }
  if (kind == "List" ||
      (is_typed_list(kind) && (api.core || api.discovery || api.security || api.gateway))) {
    if (in_list) {
      return fmt::format("{} ({}): a list inside a list", where, shown_kind(kind));
    }
    return decode_list(state, r, root, where, api_version, kind);
  }
  if (!api.reads(kind)) {
    ++state.out.ignored;
    return std::nullopt;
  }
  Meta meta = read_meta(r, root);
  std::string label = r.ok() ? object_label(kind, meta.ns, meta.name) : kind;
  read_object(state, r, root, api, kind, std::move(meta));
  if (!r.ok()) {
    return fmt::format("{} ({}): {}", where, label, r.error());
  }
  return std::nullopt;
}

Error protocol_error(std::string message) {
  return make_error(Error::Kind::Protocol, std::move(message));
}

/// Decodes every root of `doc`: in messages "<source>: document N (...)" with `documents`, else
/// "<source> (...)" (one JSON text).
Result<Decoded> decode_roots(const Document& doc, std::string_view source,
                             const DecodeLimits& limits, bool documents) {
  try {
    DecodeState state{limits, limits.max_visits, limits.max_regex_program_size, {}};
    auto roots = doc.roots();
    for (std::size_t i = 0; i < roots.size(); ++i) {
      std::string where = documents ? fmt::format("document {}", i + 1) : std::string(source);
      if (auto error = decode_node(state, *roots[i], where, false, nullptr)) {
        return std::unexpected(
            protocol_error(documents ? fmt::format("{}: {}", source, *error) : std::move(*error)));
      }
    }
    return std::move(state.out);
  } catch (const std::exception& e) {  // std::bad_alloc, say: the decoder itself never throws
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

/// One object, as it stands or as an item with `defaults` (see ItemDefaults).
Result<Decoded> decode_one(const DocNode& object, std::string_view source,
                           const DecodeLimits& limits, const ItemDefaults* defaults) {
  try {
    DecodeState state{limits, limits.max_visits, limits.max_regex_program_size, {}};
    if (auto error =
            decode_node(state, object, std::string(source), defaults != nullptr, defaults)) {
      return std::unexpected(protocol_error(std::move(*error)));
    }
    return std::move(state.out);
  } catch (const std::exception& e) {
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

}  // namespace

Result<Decoded> decode_manifests(std::string_view source, std::string_view bytes,
                                 const DecodeLimits& limits) {
  auto doc = parse_yaml(source, bytes, limits);
  if (!doc) {
    return std::unexpected(std::move(doc.error()));
  }
  return decode_roots(*doc, source, limits, true);
}

Result<Decoded> decode_json(std::string_view source, std::string_view text,
                            const DecodeLimits& limits) {
  auto doc = parse_json(source, text, limits);
  if (!doc) {
    return std::unexpected(std::move(doc.error()));
  }
  return decode_roots(*doc, source, limits, false);
}

Result<Decoded> decode_object(const DocNode& object, std::string_view source,
                              const DecodeLimits& limits) {
  return decode_one(object, source, limits, nullptr);
}

Result<Decoded> decode_list_item(const DocNode& item, std::string_view api_version,
                                 std::string_view kind, std::string_view source,
                                 const DecodeLimits& limits) {
  ItemDefaults defaults{std::string(api_version), std::string(kind)};
  return decode_one(item, source, limits, &defaults);
}

}  // namespace weft::discovery
