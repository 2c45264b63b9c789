// One agent's /metrics read at a window's start and at its end (`--direct`: no Prometheus), and
// what its counters counted in between.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "weftctl/MetricsText.hpp"

namespace weft::weftctl {

struct AgentScrapes {
  std::vector<MetricSample> before;
  std::vector<MetricSample> after;
};

/// The samples of `scrapes.after` named in `counters`, each valued at what it counted since
/// `scrapes.before` (a series new in the window counts from zero; so does a counter that went
/// down: its agent restarted).
std::vector<MetricSample> window_deltas(const AgentScrapes& scrapes,
                                        std::span<const std::string_view> counters);

}  // namespace weft::weftctl
