// Workload SPIFFE IDs as weft issues them: spiffe://<trust-domain>/ns/<namespace>/sa/<account>.
// Parsed where MeshPolicy principals are decoded and where a source's namespace is matched.
#pragma once

#include <optional>
#include <string_view>

namespace weft::discovery {

/// The parts of a workload SPIFFE ID; views into the parsed text.
struct WorkloadSpiffeId {
  std::string_view trust_domain;
  std::string_view ns;
  std::string_view service_account;
};

/// Parses `text` as spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>: a SPIFFE ID
/// (SPIFFE-ID spec section 2: lowercase trust domain of [a-z0-9._-], at most 2048 bytes, no
/// query, fragment, port or userinfo) whose path is exactly that, with a DNS-1123 label as
/// namespace and a DNS-1123 subdomain as service account. nullopt for anything else.
std::optional<WorkloadSpiffeId> parse_workload_spiffe_id(std::string_view text);

}  // namespace weft::discovery
