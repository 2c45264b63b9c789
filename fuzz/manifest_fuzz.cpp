// Fuzzes the manifest decoder (untrusted YAML/JSON from the manifests directory, or JSON texts as
// an API server sends objects and lists) and, for whatever decodes, the World built from it and
// its lookups. What the agent reads from a live API server (list pages, watch streams, Status
// answers, items decoded as their collection's kind) is kube_api_fuzz's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/discovery/World.hpp"
#include "fuzz/world_checks.hpp"

namespace {

using weft::fuzz::check;
using weft::fuzz::exercise;

/// Builds a World from what decoded, or checks that the error is one line (errors are logged as
/// one line each).
void use(weft::Result<weft::discovery::Decoded> decoded) {
  if (!decoded) {
    check(decoded.error().message.find('\n') == std::string::npos);
    return;
  }
  auto world = weft::discovery::World::build(std::move(decoded->objects));
  exercise(*world);
}

}  // namespace

// The same bytes as a manifest file (YAML) and as JSON: both parsers build the document tree one
// decoder reads.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  use(weft::discovery::decode_manifests("fuzz.yaml", text));
  use(weft::discovery::decode_json("fuzz.json", text));
  return 0;
}
