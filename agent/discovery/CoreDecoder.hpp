// Decoding of the core Kubernetes kinds the mesh reads: v1 Service, discovery.k8s.io/v1
// EndpointSlice and v1 Pod, plus the metadata every kind has (internal header of the manifest
// decoder; fields and defaults in README.md).
#pragma once

#include <optional>
#include <string>

#include "agent/discovery/FieldReader.hpp"
#include "agent/discovery/Objects.hpp"

namespace weft::discovery::detail {

/// metadata.name and metadata.namespace, which every kind has.
struct Meta {
  std::string name;
  std::string ns;
};

/// metadata.name (required, a DNS-1123 name) and metadata.namespace (default "default").
Meta read_meta(FieldReader& r, const Field& root);

/// A v1 Service.
Service read_service(FieldReader& r, const Field& root, Meta meta);

/// A discovery.k8s.io/v1 EndpointSlice; nullopt when the slice is of a kind the mesh ignores
/// (addressType FQDN).
std::optional<EndpointSlice> read_slice(FieldReader& r, const Field& root, Meta meta);

/// A v1 Pod.
Pod read_pod(FieldReader& r, const Field& root, Meta meta);

}  // namespace weft::discovery::detail
