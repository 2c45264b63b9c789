// Kubernetes-format YAML/JSON -> typed objects. Pure functions of bytes: they know nothing of
// files or watches, so the manifest directory and (later) the API watch share them.
#pragma once

#include <cstddef>
#include <string_view>

#include "agent/discovery/Objects.hpp"
#include "common/Error.hpp"

namespace YAML {
class Node;
}

namespace weft::discovery {

/// Bounds on what one input may cost; exceeding one is an error naming the limit.
struct DecodeLimits {
  std::size_t max_bytes = 4U << 20;    ///< input size
  std::size_t max_documents = 1000;    ///< "---"-separated documents per input
  std::size_t max_nodes = 500'000;     ///< YAML nodes the parser may build (memory bound)
  std::size_t max_visits = 4'000'000;  ///< nodes the decoder may visit (alias expansion bound)
  std::size_t max_objects = 20'000;    ///< decoded objects per input, List items included
  /// RE2 program instructions (RE2::ProgramSize()) of the route regular expressions of one input
  /// (memory bound: "/a{1000}" is short and compiles to 1005; one expression may have 20 000).
  std::size_t max_regex_program_size = 200'000;
};

/// Decodes every document of one input (a file's bytes). `source` names it in errors, which read
/// like `pods.yaml: document 2 (Service demo/echo): spec.ports[0].port: expected an integer
/// 1-65535, got "eighty"`. Any bad document fails the whole input; documents of unknown kinds
/// are counted in Decoded::ignored. Never throws.
Result<Decoded> decode_manifests(std::string_view source, std::string_view bytes,
                                 const DecodeLimits& limits = {});

/// Decodes one already-parsed object (e.g. a watch event's "object"), with the same rules and
/// messages (`source` replaces "file: document N"). Never throws.
Result<Decoded> decode_object(const YAML::Node& object, std::string_view source,
                              const DecodeLimits& limits = {});

}  // namespace weft::discovery
