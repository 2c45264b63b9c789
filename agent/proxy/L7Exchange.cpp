#include "agent/proxy/L7Exchange.hpp"

#include <charconv>
#include <string>

#include "agent/proxy/ExchangeOwner.hpp"
#include "agent/proxy/HttpTarget.hpp"
#include "agent/proxy/Worker.hpp"
#include "common/Log.hpp"
#include "l7/GrpcTimeout.hpp"

namespace weft::proxy {
namespace {

// gRPC status codes (grpc/doc/statuscodes.md).
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcPermissionDenied = 7;
constexpr int kGrpcUnavailable = 14;

int parse_int(const std::string* s, int fallback) {
  int v = fallback;
  if (s != nullptr) {
    std::from_chars(s->data(), s->data() + s->size(), v);
  }
  return v;
}

bool is_grpc(const l7::Headers& headers) {
  const std::string* ct = l7::find_header(headers, "content-type");
  return ct != nullptr && ct->starts_with("application/grpc");
}

}  // namespace

L7Exchange::L7Exchange(ExchangeOwner& owner, ExchangePeer* downstream)
    : owner_(owner), down_peer_(downstream) {
  down_.x = this;
  up_.x = this;
}

L7Exchange::L7Exchange(ExchangeOwner& owner, H2Carrier& downstream, int32_t id)
    : L7Exchange(owner, nullptr) {
  down_h2_.emplace(downstream, id);
  down_peer_ = &*down_h2_;
}

L7Exchange::~L7Exchange() {
  if (retired) {
    owner_.worker().unretire(this);
  }
  cancel_deadline();
  if (!down_closed_) {
    down_peer_->detach();
  }
  if (!up_closed_) {
    up_peer_->detach();
  }
  if (load_ != nullptr) {
    load_->finished(start_, Clock::now());
  }
}

// --- the client's side ---

void L7Exchange::Down::on_headers(l7::Headers headers, bool end_stream) {
  if (!x->request_head_seen_) {
    x->request_head_seen_ = true;
    x->request_head(std::move(headers), end_stream);
    return;
  }
  x->request_.finish(std::move(headers));  // trailers
  x->request_more();
}

void L7Exchange::Down::on_data(std::span<const uint8_t> data) {
  x->request_.append(data);
  x->request_more();
}

void L7Exchange::Down::on_end_stream() {
  x->request_.finish();
  x->request_more();
}

void L7Exchange::Down::on_close(uint32_t /*error_code*/) {
  x->down_closed();
}

l7::BodyChunk L7Exchange::Down::read_body(uint8_t* out, std::size_t max) {
  l7::BodyChunk chunk = x->response_.read(out, max);
  if (chunk.size > 0 && !x->up_closed_) {
    x->up_peer_->consume(chunk.size);
  }
  return chunk;
}

l7::Headers L7Exchange::Down::trailers() {
  return x->response_.take_trailers();
}

// --- the endpoint's side ---

void L7Exchange::Up::on_headers(l7::Headers headers, bool end_stream) {
  if (l7::find_header(headers, ":status") != nullptr) {
    x->response_head(std::move(headers), end_stream);
    return;
  }
  if (const std::string* s = l7::find_header(headers, "grpc-status")) {
    x->grpc_status_ = parse_int(s, -1);
  }
  x->response_.finish(std::move(headers));  // trailers
  x->response_more();
}

void L7Exchange::Up::on_data(std::span<const uint8_t> data) {
  x->response_.append(data);
  x->response_more();
}

void L7Exchange::Up::on_end_stream() {
  x->response_.finish();
  x->response_more();
}

void L7Exchange::Up::on_close(uint32_t error_code) {
  x->up_closed(error_code);
}

l7::BodyChunk L7Exchange::Up::read_body(uint8_t* out, std::size_t max) {
  l7::BodyChunk chunk = x->request_.read(out, max);
  if (chunk.size > 0 && !x->down_closed_) {
    x->down_peer_->consume(chunk.size);
  }
  return chunk;
}

l7::Headers L7Exchange::Up::trailers() {
  return x->request_.take_trailers();
}

// --- the exchange ---

void L7Exchange::request_head(l7::Headers headers, bool end_stream) {
  grpc_ = is_grpc(headers);
  if (end_stream) {
    request_.finish();
  }
  set_deadline(headers);
  target_ = owner_.route(headers);
  if (target_ == nullptr) {
    return respond_locally(503, kGrpcUnavailable, "no healthy upstream");
  }
  if (!target_->plan.denied.empty()) {
    return respond_locally(403, kGrpcPermissionDenied, "denied by the destination's policy");
  }
  auto carrier = owner_.upstream(*target_);
  if (!carrier) {
    log::warn("http.upstream_failed", "worker={} target={} error=\"{}\"", owner_.worker().index(),
              target_->plan.target.str(), carrier.error().message);
    return respond_locally(503, kGrpcUnavailable, "upstream connect error");
  }
  l7::Headers head = owner_.upstream_head(std::move(headers), *target_);
  int32_t id = (*carrier)->session().submit_request(head, !end_stream, &up_);
  if (id < 0) {
    return respond_locally(503, kGrpcUnavailable, "upstream refused the stream");
  }
  (*carrier)->touch();
  up_h2_.emplace(**carrier, id);
  up_peer_ = &*up_h2_;
  up_closed_ = false;
  load_ = owner_.load(*target_);
  if (load_ != nullptr) {
    load_->started();
  }
}

void L7Exchange::request_more() {
  if (!up_closed_) {
    up_peer_->resume();
  }
}

void L7Exchange::response_head(l7::Headers headers, bool end_stream) {
  int status = parse_int(l7::find_header(headers, ":status"), 0);
  if (status >= 100 && status < 200) {
    if (!down_closed_) {
      down_peer_->send_head(headers, false);  // informational: the final head follows
    }
    return;
  }
  endpoint_done();
  status_ = status;
  response_started_ = true;
  if (end_stream) {
    if (const std::string* s = l7::find_header(headers, "grpc-status")) {
      grpc_status_ = parse_int(s, -1);  // trailers-only response
    }
    response_.finish();
  }
  if (!down_closed_) {
    down_peer_->send_head(headers, !end_stream);
  }
}

void L7Exchange::response_more() {
  if (!down_closed_) {
    down_peer_->resume();
  }
}

void L7Exchange::up_closed(uint32_t error_code) {
  up_closed_ = true;
  if (error_code != NGHTTP2_NO_ERROR) {
    endpoint_done();
    if (!response_started_) {
      // Nothing reached the client yet: answer it here. A refused stream never reached the app.
      bool refused = error_code == NGHTTP2_REFUSED_STREAM;
      respond_locally(refused ? 503 : 502, kGrpcUnavailable,
                      refused ? "upstream connect error" : "upstream reset");
    } else if (!down_closed_) {
      down_peer_->reset(error_code);
    }
  } else if (!response_.finished()) {
    response_.finish();  // closed cleanly without END_STREAM seen: end the client's side too
    response_more();
  }
  check_finished();
}

// The client's side is over, cleanly or not; a response that never reached the client is
// counted with response_code 0, as Istio does.
void L7Exchange::down_closed() {
  down_closed_ = true;
  if (!up_closed_) {
    // The client reset or went away: cancel the request upstream.
    up_peer_->detach();
    up_closed_ = true;
    endpoint_done();
  }
  cancel_deadline();
  record();
  check_finished();
}

void L7Exchange::set_deadline(const l7::Headers& head) {
  std::optional<Clock::duration> timeout;
  if (const std::string* t = l7::find_header(head, "grpc-timeout"); t != nullptr && grpc_) {
    timeout = l7::parse_grpc_timeout(*t);
  }
  if (timeout) {
    deadline_ = owner_.worker().add_deadline(start_ + *timeout, this);
  }
}

void L7Exchange::cancel_deadline() {
  if (deadline_) {
    owner_.worker().cancel_deadline(*deadline_);
    deadline_.reset();
  }
}

void L7Exchange::deadline_expired() {
  deadline_.reset();
  if (down_closed_) {
    return;
  }
  if (!up_closed_) {
    up_peer_->detach();  // RST_STREAM(CANCEL) upstream: the app stops working on it
    up_closed_ = true;
    endpoint_done();
  }
  if (!response_started_) {
    respond_locally(504, kGrpcDeadlineExceeded, "request timeout");
  } else {
    down_peer_->reset(NGHTTP2_CANCEL);
  }
  check_finished();
}

void L7Exchange::respond_locally(int status, int grpc_status, std::string_view message) {
  response_started_ = true;
  if (grpc_) {
    status_ = 200;
    grpc_status_ = grpc_status;
    response_.finish();
    l7::Headers head{{":status", "200"},
                     {"content-type", "application/grpc"},
                     {"grpc-status", std::to_string(grpc_status)},
                     {"grpc-message", std::string(message)}};
    down_peer_->send_head(head, false);
    return;
  }
  status_ = status;
  std::string body = std::string(message) + "\n";
  response_.append({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  response_.finish();
  l7::Headers head{{":status", std::to_string(status)},
                   {"content-type", "text/plain"},
                   {"content-length", std::to_string(body.size())}};
  down_peer_->send_head(head, true);
}

void L7Exchange::endpoint_done() {
  if (load_ != nullptr) {
    load_->finished(start_, Clock::now());
    load_ = nullptr;
  }
}

void L7Exchange::record() {
  if (recorded_) {
    return;
  }
  recorded_ = true;
  double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  auto protocol = grpc_ ? agent::RequestProtocol::Grpc : agent::RequestProtocol::Http;
  if (target_ != nullptr) {
    for (agent::RequestSeries& s : target_->series) {
      s.record(protocol, status_, grpc_status_, seconds);
    }
  }
}

void L7Exchange::check_finished() {
  if (finished() && !retired) {
    owner_.worker().retire(this);
  }
}

}  // namespace weft::proxy
