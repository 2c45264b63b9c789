// `weftctl observe`: the recent requests and connections of every agent's flow history (GET
// /observe on their admin ports), merged by time; with -f, new ones as they come (each agent
// polled every second for the records after the last it gave).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/Error.hpp"
#include "weftctl/AgentDiscovery.hpp"
#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

struct ObserveOptions {
  std::vector<std::string> agents{"127.0.0.1:15020"};  ///< admin addresses, host:port
  std::optional<AgentLookup> agent_lookup;             ///< set: the agents are found from the API
  std::optional<std::size_t> last;  ///< the newest N over all agents; default 20 unless since/-f
  std::string since;                ///< a duration ago (30s, 5m) or an RFC 3339 time; "" none
  bool follow = false;
  std::chrono::milliseconds follow_for{0};  ///< -f stops after this long (0: until interrupted)
  std::chrono::milliseconds poll{1000};     ///< -f: time between polls
  /// The agents' filter keys and values (namespace, workload, ip, port, http_status, verdict,
  /// type, trace_id), as GET /observe takes them.
  std::vector<std::pair<std::string, std::string>> filters;
  OutputFormat format = OutputFormat::Table;
};

/// `text` ("30s", "5m", "1h", "2d", or "2024-05-01T12:00:00Z", "...+02:00", fractions allowed)
/// as Unix seconds, durations counted back from `now`; an error says what it wants.
Result<double> parse_since(const std::string& text, std::chrono::system_clock::time_point now);

/// The query string of one GET /observe ("last=20&verdict=denied"), values URL-escaped.
std::string observe_query(const std::vector<std::pair<std::string, std::string>>& keys);

/// Runs the command; the exit status (1 when an agent could not be read).
int observe_command(const ObserveOptions& options, std::FILE* out, std::FILE* err);

}  // namespace weft::weftctl
