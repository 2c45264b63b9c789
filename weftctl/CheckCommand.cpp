#include "weftctl/CheckCommand.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "weftctl/AgentChecks.hpp"
#include "weftctl/CertificateChecks.hpp"
#include "weftctl/CheckResults.hpp"
#include "weftctl/CniChecks.hpp"
#include "weftctl/NodeChecks.hpp"
#include "weftctl/PrometheusChecks.hpp"

namespace weft::weftctl {

int check_command(const CheckOptions& o, std::FILE* out) {
  std::vector<CheckResult> results;
  auto add = [&](std::vector<CheckResult> more) {
    results.insert(results.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
  };
  if (!o.skip_node) {
    add(node_checks(read_node_facts()));
    add(cni_checks(o.cni_conf_dir, o.cni_bin_dir));
  }
  std::vector<AgentProbe> probes;
  for (const std::string& agent : o.agents) {
    probes.push_back(probe_agent(agent));
  }
  auto now = std::chrono::system_clock::now();
  add(ca_checks(o.identity_dir, now));
  if (std::ranges::any_of(probes, [](const AgentProbe& p) { return p.metrics.has_value(); })) {
    results.push_back(workload_certificate_check(probes, now));
  }
  add(agent_checks(probes, WEFT_VERSION));
  if (!o.prometheus.empty()) {
    std::string base = o.prometheus;
    while (base.ends_with('/')) {
      base.pop_back();
    }
    add(prometheus_checks(base, o.agents));
  }
  fmt::print(out, "{}", check_output(results, o.format));
  return any_failed(results) ? 1 : 0;
}

}  // namespace weft::weftctl
