// weft_discovery_*: what the Kubernetes source's reflectors have done, per collection, computed
// when scraped (the ages are as of the scrape).
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "agent/kube/KubeSource.hpp"

namespace weft::kube {

std::vector<prometheus::MetricFamily> discovery_metrics(const KubeSource& source);

}  // namespace weft::kube
