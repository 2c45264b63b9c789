// What `weftctl edges` shows: which workloads talked to which in a window and whether all of it
// went over mTLS, with the identities each side proved, from the clients' agents' series
// (reporter="source": an edge exists even when the server is outside the mesh).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "weftctl/MetricsText.hpp"

namespace weft::weftctl {

struct EdgeRow {
  std::string src_ns, src, dst_ns, dst;  ///< dst: the workload, else the Service's FQDN
  std::string client_id, server_id;      ///< SPIFFE IDs; empty when not proven
  double requests = 0;                   ///< HTTP requests and gRPC calls in the window
  double connections = 0;                ///< TCP connections opened in the window
  double secured = 0;                    ///< of both, over mutual TLS

  /// Everything on the edge went over mTLS.
  bool all_secured() const { return secured >= requests + connections; }
};

/// The edges with traffic in the window, sorted, from samples valued at what they counted in
/// it (window_deltas of each agent's scrapes, or a Prometheus server's increase()): those of
/// weft_requests_total and weft_tcp_connections_opened_total. `ns`: edges with either end in it
/// (empty: all).
std::vector<EdgeRow> edge_rows(std::span<const MetricSample> counted, const std::string& ns);

}  // namespace weft::weftctl
