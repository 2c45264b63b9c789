#include "agent/admin/TapStream.hpp"

#include <civetweb.h>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/admin/AdminHttp.hpp"
#include "agent/tap/TapHub.hpp"
#include "agent/tap/TapQuery.hpp"

namespace weft::agent {
namespace {

/// Silent for this long, the stream sends a keep-alive (a blank NDJSON line, an SSE comment):
/// how a session learns that its client left.
constexpr auto kKeepAlive = std::chrono::seconds(2);

/// civetweb's connection as a TapAnswer.
class CivetAnswer final : public TapAnswer {
 public:
  explicit CivetAnswer(mg_connection* conn) : conn_(conn) {}
  void refuse(int status, const std::string& reason) override {
    agent::refuse(conn_, status, reason);
  }
  void start(const char* content_type) override {
    mg_printf(conn_,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
              content_type);
  }
  bool chunk(std::string_view data) override {
    return mg_send_chunk(conn_, data.data(), static_cast<unsigned>(data.size())) > 0;
  }
  void end() override { mg_send_chunk(conn_, "", 0); }

 private:
  mg_connection* conn_;
};

}  // namespace

void serve_tap(const TapAsk& ask, TapAnswer& answer, TapHub& hub,
               const std::atomic<bool>& stopping) {
  auto options = parse_tap_query(ask.query, ask.accept);
  if (!options) {
    return answer.refuse(400, "tap: " + options.error().message);
  }
  options->filter.namespaces = ask.namespaces;
  auto session = hub.open(std::move(options->filter), options->max_rps, ask.who);
  if (!session) {
    return answer.refuse(429, "tap: " + session.error().message);
  }
  answer.start(options->sse ? "text/event-stream" : "application/x-ndjson");
  auto start = std::chrono::steady_clock::now();
  auto last_sent = start;
  bool open = true;
  while (open && !stopping.load()) {
    auto events = (*session)->take(std::chrono::milliseconds(500));
    auto now = std::chrono::steady_clock::now();
    std::string out;
    for (const TapEvent& e : events) {
      out +=
          options->sse ? fmt::format("id: {}\ndata: {}\n\n", e.id, to_json(e)) : to_json(e) + "\n";
    }
    if (out.empty() && now - last_sent >= kKeepAlive) {
      out = options->sse ? ": keep-alive\n\n" : "\n";
    }
    if (!out.empty()) {
      open = answer.chunk(out);
      last_sent = now;
    }
    if (options->duration.count() > 0 && now - start >= options->duration) {
      break;
    }
  }
  if (open) {
    answer.end();
  }
  hub.close(*session);
}

void serve_plaintext_tap(mg_connection* conn, TapHub& hub, const std::atomic<bool>& stopping) {
  const mg_request_info* info = mg_get_request_info(conn);
  CivetAnswer answer(conn);
  if (!loopback_client(conn)) {
    return answer.refuse(403,
                         "tap: plaintext tap is served to loopback clients only (use the mTLS "
                         "tap port, tap_tls_address)");
  }
  const char* accept = mg_get_header(conn, "Accept");
  TapAsk ask{info->query_string != nullptr ? info->query_string : "",
             accept != nullptr ? accept : "",
             fmt::format("{}:{}", info->remote_addr, info->remote_port),
             {}};
  serve_tap(ask, answer, hub, stopping);
}

}  // namespace weft::agent
