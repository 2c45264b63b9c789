// The identity labels of one flow or request as one reporter sees it (Istio's vocabulary).
#pragma once

#include <prometheus/labels.h>

#include <string>
#include <string_view>

#include "agent/identity/WorkloadIdentity.hpp"

namespace weft::agent {

struct FlowLabels {
  std::string reporter;  ///< "source" or "destination"
  WorkloadIdentity source;
  WorkloadIdentity destination;
  std::string destination_service;  ///< Service FQDN, empty when the flow did not target one
  std::string security_policy = "none";
};

/// The Prometheus label set of `labels` with `request_protocol` ("tcp", "http", "grpc").
prometheus::Labels to_prometheus(const FlowLabels& labels, std::string_view request_protocol);

}  // namespace weft::agent
