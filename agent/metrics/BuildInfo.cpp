#include "agent/metrics/BuildInfo.hpp"

#include <chrono>

namespace weft::agent {
namespace {

prometheus::MetricFamily gauge(const char* name, const char* help, prometheus::ClientMetric m) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  family.metric.push_back(std::move(m));
  return family;
}

}  // namespace

std::array<prometheus::MetricFamily, 2> build_info_metrics() {
  prometheus::ClientMetric build;
  build.label.push_back({"version", WEFT_VERSION});
  build.gauge.value = 1;
  prometheus::ClientMetric clock;
  // Milliseconds survive the text format: prometheus-cpp writes 16 significant digits.
  clock.gauge.value =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {
      gauge("weft_build_info", "The agent's release, as weft-agent --version prints it",
            std::move(build)),
      gauge("weft_agent_time_seconds",
            "The agent's wall clock when it answered this scrape (Unix time)", std::move(clock))};
}

}  // namespace weft::agent
