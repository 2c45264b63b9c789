#include "agent/admin/AdminHttp.hpp"

#include <civetweb.h>

#include "common/IpAddr.hpp"

namespace weft::agent {

bool loopback_client(const mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  auto remote = IpAddr::parse(info->remote_addr);
  return remote && remote->is_loopback();
}

void refuse(mg_connection* conn, int status, const std::string& reason) {
  std::string body = reason + "\n";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace weft::agent
