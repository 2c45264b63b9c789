// A Prometheus server's HTTP API as the CLI reads it: instant queries (/api/v1/query) and their
// vector answers, as samples.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.hpp"
#include "weftctl/MetricsText.hpp"

namespace weft::weftctl {

/// The samples of an instant query's answer (the JSON body): labels from "metric" (the name
/// from __name__, empty for an aggregate), values as the API writes them ("1.5", "NaN",
/// "+Inf"). A failed query or anything but a vector is an error with the server's reason.
Result<std::vector<MetricSample>> prometheus_vector(std::string_view answer);

/// Runs `expr` at `base` (the server's URL) and reads its answer; errors name the query.
Result<std::vector<MetricSample>> prometheus_query(const std::string& base,
                                                   const std::string& expr);

}  // namespace weft::weftctl
