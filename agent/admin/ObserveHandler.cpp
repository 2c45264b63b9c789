#include "agent/admin/ObserveHandler.hpp"

#include <civetweb.h>

#include <string>

#include "agent/admin/AdminHttp.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/tap/TapQuery.hpp"

namespace weft::agent {

std::expected<std::string, ObserveRefusal> observe_body(
    const FlowLog& log, std::string_view text, const std::vector<std::string>& namespaces) {
  if (!log.enabled()) {
    return std::unexpected(ObserveRefusal{
        404, "observe: the flow history is off on this agent (observe_buffer_entries 0)"});
  }
  auto query = parse_flow_query(query_pairs(text));
  if (!query) {
    return std::unexpected(ObserveRefusal{400, "observe: " + query.error().message});
  }
  query->namespaces = namespaces;
  // The copies are taken under the log's mutex; the lines are made without it.
  std::string body;
  for (const FlowRecord& r : log.query(*query)) {
    body += to_json(r, log.node());
    body += '\n';
  }
  return body;
}

void serve_observe(mg_connection* conn, const FlowLog& log) {
  if (!loopback_client(conn)) {
    return refuse(conn, 403,
                  "observe: plaintext observe is served to loopback clients only (use the mTLS "
                  "port, tap_tls_address)");
  }
  const char* text = mg_get_request_info(conn)->query_string;
  auto body = observe_body(log, text != nullptr ? text : "", {});
  if (!body) {
    return refuse(conn, body.error().status, body.error().reason);
  }
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            body->size());
  mg_write(conn, body->data(), body->size());
}

}  // namespace weft::agent
