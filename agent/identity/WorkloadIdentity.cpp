#include "agent/identity/WorkloadIdentity.hpp"

#include <fmt/format.h>

#include "agent/discovery/World.hpp"

namespace weft::agent {

std::string spiffe_id(std::string_view trust_domain, std::string_view ns,
                      std::string_view service_account) {
  return fmt::format("spiffe://{}/ns/{}/sa/{}", trust_domain, ns, service_account);
}

WorkloadIdentity identity_of(const discovery::PodInfo* pod, std::string_view fallback_name,
                             std::string_view fallback_ns, std::string_view trust_domain) {
  if (pod != nullptr) {
    return {pod->workload, pod->ns, spiffe_id(trust_domain, pod->ns, pod->service_account)};
  }
  if (fallback_name.empty()) {
    return {};
  }
  return {std::string(fallback_name), std::string(fallback_ns),
          spiffe_id(trust_domain, fallback_ns, "default")};
}

}  // namespace weft::agent
