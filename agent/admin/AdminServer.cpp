#include "agent/admin/AdminServer.hpp"

#include <CivetServer.h>
#include <fmt/format.h>
#include <prometheus/text_serializer.h>

#include <atomic>

#include "agent/admin/ObserveHandler.hpp"
#include "agent/admin/TapStream.hpp"
#include "agent/tap/TapHub.hpp"

namespace weft::agent {
namespace {

void respond(mg_connection* conn, int status, const char* type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), type, body.size());
  mg_write(conn, body.data(), body.size());
}

/// A GET-only handler around one function producing (status, content type, body).
class GetHandler final : public CivetHandler {
 public:
  using Produce = std::function<void(mg_connection*)>;
  explicit GetHandler(Produce produce) : produce_(std::move(produce)) {}
  bool handleGet(CivetServer* /*server*/, mg_connection* conn) override {
    produce_(conn);
    return true;
  }

 private:
  Produce produce_;
};

}  // namespace

struct AdminServer::Handlers {
  AdminSources sources;
  GetHandler metrics{[this](mg_connection* c) {
    prometheus::TextSerializer serializer;
    respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
            serializer.Serialize(sources.collect()));
  }};
  GetHandler ready{[this](mg_connection* c) {
    bool ok = sources.ready();
    respond(c, ok ? 200 : 503, "text/plain", ok ? "ready\n" : "not ready\n");
  }};
  GetHandler live{[](mg_connection* c) { respond(c, 200, "text/plain", "live\n"); }};
  GetHandler pods{
      [this](mg_connection* c) { respond(c, 200, "application/json", sources.pods_json()); }};
  GetHandler tap{[this](mg_connection* c) {
    if (sources.tap == nullptr) {
      return respond(c, 404, "text/plain", "tap is not served here\n");
    }
    serve_plaintext_tap(c, *sources.tap, stopping);
  }};
  GetHandler observe{[this](mg_connection* c) {
    if (sources.flows == nullptr) {
      return respond(c, 404, "text/plain", "observe is not served here\n");
    }
    serve_observe(c, *sources.flows);
  }};
  /// Set before civetweb stops: tap sessions end within half a second.
  std::atomic<bool> stopping = false;
};

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& address,
                                                        AdminSources sources) {
  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->handlers_ = std::make_unique<Handlers>();
  admin->handlers_->sources = std::move(sources);
  // civetweb wants "ip:port". Two threads serve scrapes and weftctl; each tap session holds one
  // more while it lasts.
  unsigned taps = admin->handlers_->sources.tap != nullptr
                      ? admin->handlers_->sources.tap->limits().max_sessions
                      : 0;
  std::vector<std::string> options = {"listening_ports",    address,
                                      "num_threads",        std::to_string(2 + taps),
                                      "request_timeout_ms", "10000"};
  try {
    admin->server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    return fail(Error::Kind::Config,
                fmt::format("admin server cannot listen on {}: {}", address, e.what()));
  }
  admin->server_->addHandler("/metrics", admin->handlers_->metrics);
  admin->server_->addHandler("/ready", admin->handlers_->ready);
  admin->server_->addHandler("/live", admin->handlers_->live);
  admin->server_->addHandler("/pods", admin->handlers_->pods);
  admin->server_->addHandler("/tap", admin->handlers_->tap);
  admin->server_->addHandler("/observe", admin->handlers_->observe);
  return admin;
}

AdminServer::~AdminServer() {
  handlers_->stopping = true;
  server_.reset();  // stops civetweb's threads before the handlers they call go away
}

}  // namespace weft::agent
