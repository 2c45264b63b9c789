// GET /observe on the admin port: the agent's flow history (FlowLog) as NDJSON, one record a
// line, oldest first. Query keys: parse_flow_query's (last, since, after and the filters).
#pragma once

struct mg_connection;

namespace weft::agent {

class FlowLog;

/// Serves one observe request on civetweb's thread. Plaintext observe is for loopback clients
/// only (403 otherwise, as /tap); a bad query is 400 naming the key; a history turned off
/// (observe_buffer_entries 0) is 404.
void serve_observe(mg_connection* conn, const FlowLog& log);

}  // namespace weft::agent
