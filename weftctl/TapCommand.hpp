// `weftctl tap` and `weftctl top`: stream the requests the agents finish (their /tap) and print
// each one, or keep a table of them that updates in place.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "weftctl/AgentDiscovery.hpp"
#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

struct TapOptions {
  std::string resource;  ///< ns/NAME, deploy|workload[/NAME], po/NAME
  std::string ns = "default";
  bool all_namespaces = false;
  std::string to_resource;  ///< deploy/NAME or ns/NAME: only requests to it
  std::string to_ns;        ///< --to's namespace (default: -n's)
  std::string method;
  std::string authority;
  std::string path;
  std::string status;  ///< 503, 5xx, 4+
  std::string direction;
  unsigned max_rps = 0;  ///< 0: the agent's default
  std::vector<std::string> agents = {"127.0.0.1:15020"};
  std::optional<AgentLookup> agent_lookup;  ///< set: the agents are found from the API
  std::chrono::milliseconds duration{0};    ///< 0: until interrupted (or q in top)
  /// Set (all three files): the agents are tap_tls_address ports, spoken to over mTLS.
  std::string cert, key, cacert;
  OutputFormat format = OutputFormat::Table;
};

/// The /tap query (after '?') that asks an agent for what `o` selects, escaped.
std::string tap_query(const TapOptions& o);

/// Runs tap (`top` false) or top; the exit status.
int run_tap(const TapOptions& o, bool top, std::FILE* out, std::FILE* err);

}  // namespace weft::weftctl
