#include "agent/tap/TapEvent.hpp"

#include <nlohmann/json.hpp>

namespace weft::agent {
namespace {

nlohmann::json peer_json(const TapPeer& peer) {
  nlohmann::json out = nlohmann::json::object();
  if (peer.address) {
    out["ip"] = peer.address->ip.str();
    if (peer.address->port != 0) {
      out["port"] = peer.address->port;
    }
  }
  out["workload"] = peer.workload;
  out["namespace"] = peer.ns;
  out["principal"] = peer.principal;
  return out;
}

nlohmann::json headers_json(const l7::Headers& headers) {
  nlohmann::json out = nlohmann::json::array();
  for (const l7::Header& h : headers) {
    out.push_back({h.name, h.value});
  }
  return out;
}

}  // namespace

std::string to_json(const TapEvent& e) {
  nlohmann::json out = {
      {"id", e.id},
      {"node", e.node},
      {"direction", e.outbound ? "outbound" : "inbound"},
      {"pod", e.pod},
      {"src", peer_json(e.src)},
      {"dst", peer_json(e.dst)},
      {"tls", e.tls},
      {"service", e.service},
      {"protocol", e.protocol},
      {"method", e.request.method},
      {"authority", e.request.authority},
      {"path", e.request.path},
      {"route", e.route},
      {"status", e.status},
      {"latency_seconds", e.latency_seconds},
      {"request_bytes", e.request.request_bytes},
      {"response_bytes", e.request.response_bytes},
      {"retries", e.retries},
      {"trace_id", e.request.trace_id},
      {"request_headers", headers_json(e.request.headers)},
      {"response_headers", headers_json(e.request.response_headers)},
  };
  out["grpc_status"] = e.grpc_status < 0 ? nlohmann::json() : nlohmann::json(e.grpc_status);
  out["upstream"] = e.upstream ? nlohmann::json(e.upstream->str()) : nlohmann::json();
  // Header values are the apps' bytes: replace what is not UTF-8 rather than throw.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace weft::agent
