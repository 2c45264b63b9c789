#include "agent/admin/ObserveHandler.hpp"

#include <civetweb.h>

#include <string>

#include "agent/admin/AdminHttp.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/tap/TapQuery.hpp"

namespace weft::agent {

void serve_observe(mg_connection* conn, const FlowLog& log) {
  if (!loopback_client(conn)) {
    return refuse(conn, 403, "observe: plaintext observe is served to loopback clients only");
  }
  if (!log.enabled()) {
    return refuse(conn, 404,
                  "observe: the flow history is off on this agent "
                  "(observe_buffer_entries 0)");
  }
  const char* text = mg_get_request_info(conn)->query_string;
  auto query = parse_flow_query(query_pairs(text != nullptr ? text : ""));
  if (!query) {
    return refuse(conn, 400, "observe: " + query.error().message);
  }
  // The copies are taken under the log's mutex; the lines are made and written without it.
  std::string body;
  for (const FlowRecord& r : log.query(*query)) {
    body += to_json(r, log.node());
    body += '\n';
  }
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace weft::agent
