// Kubernetes-format YAML/JSON -> typed objects. Pure functions of bytes: they know nothing of
// files or watches, so the manifest directory and (later) the API watch share them. Both formats
// are parsed to one document tree (Document.hpp) that one decoder reads.
#pragma once

#include <string_view>

#include "agent/discovery/DecodeLimits.hpp"
#include "agent/discovery/Document.hpp"
#include "agent/discovery/Objects.hpp"
#include "common/Error.hpp"

namespace weft::discovery {

/// Decodes every document of one input (a file's bytes). `source` names it in errors, which read
/// like `pods.yaml: document 2 (Service demo/echo): spec.ports[0].port: expected an integer
/// 1-65535, got "eighty"`. Any bad document fails the whole input; documents of unknown kinds
/// are counted in Decoded::ignored. Never throws.
Result<Decoded> decode_manifests(std::string_view source, std::string_view bytes,
                                 const DecodeLimits& limits = {});

/// Decodes one JSON text holding one object or list (what a Kubernetes API server sends), with
/// the same rules and messages; `source` replaces "file: document N", e.g. `GET /api/v1/pods
/// (Pod demo/web-1): status.podIP: expected an IP address, got "x"`. Never throws.
Result<Decoded> decode_json(std::string_view source, std::string_view text,
                            const DecodeLimits& limits = {});

/// Decodes one already-parsed object (e.g. the "object" of a watch event parsed by parse_json()),
/// with the same rules and messages (`source` replaces "file: document N"). Never throws.
Result<Decoded> decode_object(const DocNode& object, std::string_view source,
                              const DecodeLimits& limits = {});

/// Decodes one item of a typed list answer (a PodList's, say), which omits kind and apiVersion
/// as API list responses do: `api_version` and `kind` stand for them when absent.
Result<Decoded> decode_list_item(const DocNode& item, std::string_view api_version,
                                 std::string_view kind, std::string_view source,
                                 const DecodeLimits& limits = {});

}  // namespace weft::discovery
