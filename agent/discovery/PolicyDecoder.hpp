// Decoding of weft's own security.weft.io/v1alpha1 MeshPolicy (internal header of the manifest
// decoder). Strict: every field under spec is checked and unknown keys are errors, because an
// ignored field of a security object could silently open access (README.md, "MeshPolicy").
#pragma once

#include "agent/discovery/CoreDecoder.hpp"
#include "agent/discovery/FieldReader.hpp"
#include "agent/discovery/Objects.hpp"

namespace weft::discovery::detail {

/// A MeshPolicy; every field under spec is checked, unknown ones included.
MeshPolicy read_mesh_policy(FieldReader& r, const Field& root, Meta meta);

}  // namespace weft::discovery::detail
