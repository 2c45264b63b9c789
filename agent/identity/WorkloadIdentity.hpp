// Who a workload is, in the words the metrics use (Istio's label vocabulary).
#pragma once

#include <string>
#include <string_view>

namespace weft::discovery {
struct PodInfo;
}

namespace weft::agent {

/// The workload behind one end of a flow. Empty strings mean "unknown" (not in the mesh's view).
struct WorkloadIdentity {
  std::string workload;   ///< owning Deployment/StatefulSet/... name, else the pod name
  std::string ns;         ///< namespace
  std::string principal;  ///< spiffe://<trust-domain>/ns/<ns>/sa/<service account>
};

/// SPIFFE ID of a service account.
std::string spiffe_id(std::string_view trust_domain, std::string_view ns,
                      std::string_view service_account);

/// Identity from the Pod object if discovery has one, otherwise from the name and namespace the
/// runtime registered (service account "default", workload = pod name).
WorkloadIdentity identity_of(const discovery::PodInfo* pod, std::string_view fallback_name,
                             std::string_view fallback_ns, std::string_view trust_domain);

}  // namespace weft::agent
