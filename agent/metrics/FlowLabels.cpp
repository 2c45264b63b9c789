#include "agent/metrics/FlowLabels.hpp"

namespace weft::agent {

prometheus::Labels to_prometheus(const FlowLabels& l, std::string_view request_protocol) {
  return {
      {"reporter", l.reporter},
      {"source_workload", l.source.workload},
      {"source_workload_namespace", l.source.ns},
      {"source_principal", l.source.principal},
      {"destination_service", l.destination_service},
      {"destination_workload", l.destination.workload},
      {"destination_workload_namespace", l.destination.ns},
      {"destination_principal", l.destination.principal},
      {"request_protocol", std::string(request_protocol)},
      {"connection_security_policy", l.security_policy},
  };
}

}  // namespace weft::agent
