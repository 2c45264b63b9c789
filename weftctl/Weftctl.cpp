#include "weftctl/Weftctl.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>
#include <vector>

#include "agent/identity/MeshCa.hpp"
#include "weftctl/CommandLine.hpp"
#include "weftctl/HttpGet.hpp"
#include "weftctl/MetricsText.hpp"
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

/// Each agent's /metrics into `into(agent index)`; false (and a line on `err`) when one fails.
template <class Into>
bool scrape(const StatOptions& o, Into into, std::FILE* err) {
  constexpr auto kScrapeTimeout = std::chrono::seconds(5);
  for (std::size_t i = 0; i < o.agents.size(); ++i) {
    auto body = http_get("http://" + o.agents[i] + "/metrics", kScrapeTimeout);
    if (!body) {
      fmt::print(err, "weftctl: stat: agent {}: {}\n", o.agents[i], body.error().message);
      return false;
    }
    auto samples = parse_metrics_text(*body);
    if (!samples) {
      fmt::print(err, "weftctl: stat: agent {}: /metrics {}\n", o.agents[i],
                 samples.error().message);
      return false;
    }
    into(i) = std::move(*samples);
  }
  return true;
}

int stat_from_prometheus(const StatOptions& o, std::FILE* out, std::FILE* err) {
  constexpr auto kQueryTimeout = std::chrono::seconds(10);
  auto window = std::chrono::duration_cast<std::chrono::seconds>(o.window);
  auto queries = stat_queries(o.selection, window);
  std::string base = o.prometheus;
  while (base.ends_with('/')) {
    base.pop_back();
  }
  std::vector<std::string> answers;
  for (const StatQuery& q : queries) {
    if (o.show_query) {
      fmt::print(out, "{}\n", q.expr);
    }
    auto body = http_get(base + "/api/v1/query?query=" + url_escape(q.expr), kQueryTimeout);
    if (!body) {
      fmt::print(err, "weftctl: stat: {}\n", body.error().message);
      return 1;
    }
    answers.push_back(std::move(*body));
  }
  auto rows = stat_rows_from_prometheus(o.selection, queries, answers, window);
  if (!rows) {
    fmt::print(err, "weftctl: stat: {}: {}\n", base, rows.error().message);
    return 1;
  }
  fmt::print(out, "{}{}", o.show_query ? "\n" : "", stat_output(*rows, o.selection.kind, o.format));
  return 0;
}

int stat_from_agents(const StatOptions& o, std::FILE* out, std::FILE* err) {
  std::vector<AgentScrapes> agents(o.agents.size());
  auto start = std::chrono::steady_clock::now();
  if (!scrape(
          o, [&](std::size_t i) -> auto& { return agents[i].before; }, err)) {
    return 1;
  }
  std::this_thread::sleep_until(start + o.window);
  auto end = std::chrono::steady_clock::now();
  if (!scrape(
          o, [&](std::size_t i) -> auto& { return agents[i].after; }, err)) {
    return 1;
  }
  double seconds = std::chrono::duration<double>(end - start).count();
  auto rows = stat_rows(o.selection, agents, seconds);
  fmt::print(out, "{}", stat_output(rows, o.selection.kind, o.format));
  return 0;
}

}  // namespace

int run(std::span<const std::string> args, std::FILE* out, std::FILE* err) {
  auto cl = parse_command_line(args);
  if (!cl) {
    fmt::print(err, "{}", usage_message(cl.error()));
    return kUsageExitStatus;
  }
  switch (cl->action) {
    case CommandLine::Action::Print:
      fmt::print(out, "{}", cl->text);
      return 0;
    case CommandLine::Action::CaCreate:
      return ca_create(cl->ca_create, out, err);
    case CommandLine::Action::Stat:
      return cl->stat.prometheus.empty() ? stat_from_agents(cl->stat, out, err)
                                         : stat_from_prometheus(cl->stat, out, err);
  }
  return 1;
}

}  // namespace weft::weftctl
