#include "weftctl/Weftctl.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>
#include <vector>

#include "agent/identity/MeshCa.hpp"
#include "weftctl/AgentScrapes.hpp"
#include "weftctl/CheckCommand.hpp"
#include "weftctl/CommandLine.hpp"
#include "weftctl/EdgeFigures.hpp"
#include "weftctl/EdgeOutput.hpp"
#include "weftctl/HttpGet.hpp"
#include "weftctl/MetricsText.hpp"
#include "weftctl/ObserveCommand.hpp"
#include "weftctl/PrometheusApi.hpp"
#include "weftctl/PrometheusStat.hpp"

namespace weft::weftctl {
namespace {

int ca_create(const CaCreateOptions& o, std::FILE* out, std::FILE* err) {
  using days = std::chrono::days;
  auto ca = identity::MeshCa::create(o.trust_domain, days(o.anchor_days), days(o.issuer_days));
  if (!ca) {
    fmt::print(err, "weftctl: ca create: {}\n", ca.error().message);
    return 1;
  }
  if (auto ok = ca->write(o.dir, o.keep_root_key, o.force); !ok) {
    fmt::print(err, "weftctl: ca create: {}\n", ok.error().message);
    return 1;
  }
  fmt::print(out, "wrote {}/{{trust-anchor.crt,issuer.crt,issuer.key{}}} for trust domain {}\n",
             o.dir, o.keep_root_key ? ",trust-anchor.key" : "", o.trust_domain);
  return 0;
}

/// One agent's /metrics, parsed; errors name the agent.
Result<std::vector<MetricSample>> scrape(const std::string& agent) {
  constexpr auto kScrapeTimeout = std::chrono::seconds(5);
  auto body = http_get("http://" + agent + "/metrics", kScrapeTimeout);
  if (!body) {
    return fail(body.error().kind, fmt::format("agent {}: {}", agent, body.error().message));
  }
  auto samples = parse_metrics_text(*body);
  if (!samples) {
    return fail(Error::Kind::Protocol,
                fmt::format("agent {}: /metrics {}", agent, samples.error().message));
  }
  return samples;
}

/// --direct: every agent's /metrics at the window's start and end; the seconds between them.
Result<double> scrape_window(const MetricsSource& src, std::vector<AgentScrapes>& agents) {
  agents.assign(src.agents.size(), {});
  auto start = std::chrono::steady_clock::now();
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      std::this_thread::sleep_until(start + src.window);
    }
    for (std::size_t i = 0; i < src.agents.size(); ++i) {
      auto samples = scrape(src.agents[i]);
      if (!samples) {
        return std::unexpected(std::move(samples.error()));
      }
      (pass == 0 ? agents[i].before : agents[i].after) = std::move(*samples);
    }
  }
  return std::chrono::duration<double>(src.window).count();
}

/// The server's URL without a trailing '/'.
std::string base_url(std::string url) {
  while (url.ends_with('/')) {
    url.pop_back();
  }
  return url;
}

/// Runs `queries` (printing them first with --show-query); their samples in order.
Result<std::vector<std::vector<MetricSample>>> run_queries(const MetricsSource& src,
                                                           std::span<const std::string> queries,
                                                           std::FILE* out) {
  std::string base = base_url(src.prometheus);
  std::vector<std::vector<MetricSample>> results;
  for (const std::string& q : queries) {
    if (src.show_query) {
      fmt::print(out, "{}\n", q);
    }
    auto samples = prometheus_query(base, q);
    if (!samples) {
      return fail(samples.error().kind, base + ": " + samples.error().message);
    }
    results.push_back(std::move(*samples));
  }
  if (src.show_query) {
    fmt::print(out, "\n");
  }
  return results;
}

/// The rows of `o` from its source (the queries printed first with --show-query).
Result<std::vector<StatRow>> stat_figures(const StatOptions& o, std::FILE* out) {
  const MetricsSource& src = o.source;
  if (!src.prometheus.empty()) {
    auto window = std::chrono::duration_cast<std::chrono::seconds>(src.window);
    auto queries = stat_queries(o.selection, window);
    std::vector<std::string> exprs;
    for (const StatQuery& q : queries) {
      exprs.push_back(q.expr);
    }
    auto results = run_queries(src, exprs, out);
    if (!results) {
      return std::unexpected(std::move(results.error()));
    }
    return stat_rows_from_prometheus(o.selection, queries, *results, window);
  }
  std::vector<AgentScrapes> agents;
  auto seconds = scrape_window(src, agents);
  if (!seconds) {
    return std::unexpected(std::move(seconds.error()));
  }
  return stat_rows(o.selection, agents, *seconds);
}

/// `stat` (`routes` false) or `routes`.
int stat_command(const StatOptions& o, bool routes, std::FILE* out, std::FILE* err) {
  auto rows = stat_figures(o, out);
  if (!rows) {
    fmt::print(err, "weftctl: {}: {}\n", routes ? "routes" : "stat", rows.error().message);
    return 1;
  }
  fmt::print(out, "{}",
             routes ? route_output(*rows, o.selection.name, o.source.format)
                    : stat_output(*rows, o.selection.kind, o.source.format));
  return 0;
}

int edges_command(const EdgesOptions& o, std::FILE* out, std::FILE* err) {
  constexpr std::string_view kCounters[] = {"weft_requests_total",
                                            "weft_tcp_connections_opened_total"};
  const MetricsSource& src = o.source;
  std::vector<MetricSample> counted;
  if (!src.prometheus.empty()) {
    auto window = std::chrono::duration_cast<std::chrono::seconds>(src.window);
    std::vector<std::string> exprs;
    for (std::string_view counter : kCounters) {
      exprs.push_back(fmt::format(
          "sum by (source_workload_namespace, source_workload, destination_workload_namespace, "
          "destination_workload, destination_service, source_principal, destination_principal, "
          "connection_security_policy) (increase({}{{reporter=\"source\"}}[{}s])) > 0",
          counter, window.count()));
    }
    auto results = run_queries(src, exprs, out);
    if (!results) {
      fmt::print(err, "weftctl: edges: {}\n", results.error().message);
      return 1;
    }
    for (std::size_t i = 0; i < results->size(); ++i) {
      for (MetricSample& s : (*results)[i]) {
        s.name = kCounters[i];  // an aggregate has no name, nor the reporter it was taken from
        s.labels.emplace_back("reporter", "source");
        counted.push_back(std::move(s));
      }
    }
  } else {
    std::vector<AgentScrapes> agents;
    if (auto seconds = scrape_window(src, agents); !seconds) {
      fmt::print(err, "weftctl: edges: {}\n", seconds.error().message);
      return 1;
    }
    for (const AgentScrapes& agent : agents) {
      auto deltas = window_deltas(agent, kCounters);
      counted.insert(counted.end(), deltas.begin(), deltas.end());
    }
  }
  auto rows = edge_rows(counted, o.ns);
  fmt::print(out, "{}", edge_output(rows, src.format));
  return 0;
}

/// With `lookup`, `agents` become those the API server lists; false (said on `err`) when it
/// cannot tell.
bool locate_agents(std::vector<std::string>& agents, const std::optional<AgentLookup>& lookup,
                   std::string_view command, std::FILE* err) {
  if (!lookup) {
    return true;
  }
  auto found = agents_from_api(*lookup);
  if (!found) {
    fmt::print(err, "weftctl: {}: finding the agents: {}\n", command, found.error().message);
    return false;
  }
  agents = std::move(*found);
  return true;
}

}  // namespace

int run(std::span<const std::string> args, std::FILE* out, std::FILE* err) {
  auto cl = parse_command_line(args);
  if (!cl) {
    fmt::print(err, "{}", usage_message(cl.error()));
    return kUsageExitStatus;
  }
  bool located = true;
  switch (cl->action) {
    case CommandLine::Action::Stat:
    case CommandLine::Action::Routes:
      located = locate_agents(cl->stat.source.agents, cl->stat.source.agent_lookup,
                              cl->action == CommandLine::Action::Stat ? "stat" : "routes", err);
      break;
    case CommandLine::Action::Edges:
      located = locate_agents(cl->edges.source.agents, cl->edges.source.agent_lookup, "edges", err);
      break;
    case CommandLine::Action::Check:
      located = locate_agents(cl->check.agents, cl->check.agent_lookup, "check", err);
      break;
    case CommandLine::Action::Tap:
    case CommandLine::Action::Top:
      located = locate_agents(cl->tap.agents, cl->tap.agent_lookup,
                              cl->action == CommandLine::Action::Tap ? "tap" : "top", err);
      break;
    case CommandLine::Action::Observe:
      located = locate_agents(cl->observe.agents, cl->observe.agent_lookup, "observe", err);
      break;
    default:
      break;
  }
  if (!located) {
    return 1;
  }
  switch (cl->action) {
    case CommandLine::Action::Print:
      fmt::print(out, "{}", cl->text);
      return 0;
    case CommandLine::Action::CaCreate:
      return ca_create(cl->ca_create, out, err);
    case CommandLine::Action::Stat:
      return stat_command(cl->stat, /*routes=*/false, out, err);
    case CommandLine::Action::Routes:
      return stat_command(cl->stat, /*routes=*/true, out, err);
    case CommandLine::Action::Edges:
      return edges_command(cl->edges, out, err);
    case CommandLine::Action::Check:
      return check_command(cl->check, out);
    case CommandLine::Action::Tap:
      return run_tap(cl->tap, /*top=*/false, out, err);
    case CommandLine::Action::Top:
      return run_tap(cl->tap, /*top=*/true, out, err);
    case CommandLine::Action::Observe:
      return observe_command(cl->observe, out, err);
  }
  return 1;
}

}  // namespace weft::weftctl
