// `weftctl stat --prometheus URL`: the same rows as --direct, from a Prometheus server that
// scrapes the agents: one instant query per figure over the window (`--show-query` prints
// them).
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "weftctl/StatFigures.hpp"

namespace weft::weftctl {

/// One PromQL query and the StatRow figure its values fill.
struct StatQuery {
  enum class Figure {
    Requests,
    Successes,
    Mtls,
    P50,
    P95,
    P99,
    TcpOpen,
    BytesIn,
    BytesOut,
    Meshed,   ///< namespace and workload rows
    Retries,  ///< route rows
  };
  Figure figure;
  std::string expr;
};

/// The queries of `selection` over `window` (a whole number of seconds).
std::vector<StatQuery> stat_queries(const StatSelection& selection, std::chrono::seconds window);

/// The rows from each query's samples (`results[i]` for `queries[i]`, prometheus_query's), sorted
/// by namespace and name.
std::vector<StatRow> stat_rows_from_prometheus(const StatSelection& selection,
                                               std::span<const StatQuery> queries,
                                               std::span<const std::vector<MetricSample>> results,
                                               std::chrono::seconds window);

}  // namespace weft::weftctl
