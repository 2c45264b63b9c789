// The Prometheus text exposition format (version 0.0.4), as an agent's /metrics serves it, read
// into samples: what `weftctl stat --direct` computes its figures from. The bytes come from the
// network, so anything malformed is a clear error naming the line, never a crash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Error.hpp"

namespace weft::weftctl {

/// One sample line: `name{label="value",...} value [timestamp]` (the timestamp is dropped).
struct MetricSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  ///< in the order written
  double value = 0;

  /// The value of label `name`; empty when absent (Prometheus's reading too).
  std::string_view label(std::string_view name) const;
};

/// Refuses inputs beyond this many sample lines (an agent with every label bounded serves a
/// few thousand).
inline constexpr std::size_t kMaxSamples = 1'000'000;

/// Every sample of `text`; `# HELP`, `# TYPE`, other comments and blank lines are skipped.
/// Label values are unescaped (\\, \", \n); values take Go's float syntax with +Inf, -Inf and
/// NaN. Errors are Error::Kind::Protocol: "line N: what was expected, and what came".
Result<std::vector<MetricSample>> parse_metrics_text(std::string_view text);

}  // namespace weft::weftctl
