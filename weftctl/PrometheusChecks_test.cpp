#include "weftctl/PrometheusChecks.hpp"

#include <doctest/doctest.h>

using namespace weft::weftctl;

namespace {

MetricSample up(std::string instance, std::string job, double value) {
  return {"up", {{"instance", std::move(instance)}, {"job", std::move(job)}}, value};
}

}  // namespace

TEST_CASE("prometheus checks: every agent a target that is up") {
  std::vector<std::string> agents{"10.0.0.1:15020", "10.0.0.2:15020"};
  std::vector<MetricSample> all_up{up("10.0.0.1:15020", "weft-agent", 1),
                                   up("10.0.0.2:15020", "weft-agent", 1),
                                   up("localhost:9090", "prometheus", 1)};
  auto r = targets_check(all_up, agents);
  CHECK(r.status == CheckStatus::Ok);
  CHECK(r.detail == "2 agent targets up");

  // An agent the server does not scrape: a warning.
  auto one = std::vector<MetricSample>{all_up[0], all_up[2]};
  r = targets_check(one, agents);
  CHECK(r.status == CheckStatus::Warning);
  CHECK(r.detail == "no target for 10.0.0.2:15020");

  // A failing scrape of an agent named, or of any weft job's target: an error.
  all_up[1].value = 0;
  r = targets_check(all_up, agents);
  CHECK(r.status == CheckStatus::Error);
  CHECK(r.detail == "10.0.0.2:15020 (job weft-agent) is down");
  std::vector<MetricSample> other{up("10.0.0.1:15020", "weft-agent", 1),
                                  up("10.0.0.2:15020", "weft-agent", 1),
                                  up("10.0.0.9:15020", "weft-agent", 0), up("db:9100", "node", 0)};
  r = targets_check(other, agents);
  CHECK(r.status == CheckStatus::Error);
  CHECK(r.detail == "10.0.0.9:15020 (job weft-agent) is down");
}
