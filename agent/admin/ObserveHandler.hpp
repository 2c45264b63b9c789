// GET /observe on the admin port: the agent's flow history (FlowLog) as NDJSON, one record a
// line, oldest first. Query keys: parse_flow_query's (last, since, after and the filters).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/Error.hpp"

struct mg_connection;

namespace weft::agent {

class FlowLog;

/// The NDJSON answer to an observe query (after '?'), limited to `namespaces` (empty: all);
/// an error (400 naming the key, or 404 when the history is off) otherwise.
struct ObserveRefusal {
  int status;
  std::string reason;
};
std::expected<std::string, ObserveRefusal> observe_body(const FlowLog& log, std::string_view query,
                                                        const std::vector<std::string>& namespaces);

/// Serves one observe request on civetweb's thread. Plaintext observe is for loopback clients
/// only (403 otherwise, as /tap); a bad query is 400 naming the key; a history turned off
/// (observe_buffer_entries 0) is 404.
void serve_observe(mg_connection* conn, const FlowLog& log);

}  // namespace weft::agent
