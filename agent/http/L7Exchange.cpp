#include "agent/http/L7Exchange.hpp"

#include <algorithm>
#include <string>

#include "agent/http/ExchangeOwner.hpp"
#include "agent/http/Http1Upstream.hpp"
#include "agent/http/HttpTarget.hpp"
#include "agent/plan/TunnelHeaders.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tap/TapHub.hpp"
#include "common/Log.hpp"
#include "l7/GrpcTimeout.hpp"
#include "l7/RouteMatch.hpp"

namespace weft::proxy {
namespace {

/// A request body larger than this is not kept for another attempt: it is not retried.
constexpr std::size_t kMaxReplay = 64 * 1024;

}  // namespace

L7Exchange::L7Exchange(ExchangeOwner& owner, ExchangePeer* downstream)
    : owner_(owner), down_peer_(downstream), start_(now()) {
  down_.x = this;
  up_.x = this;
}

L7Exchange::L7Exchange(ExchangeOwner& owner, H2Carrier& downstream, int32_t id)
    : L7Exchange(owner, nullptr) {
  down_h2_.emplace(downstream, id);
  down_peer_ = &*down_h2_;
}

L7Exchange::Clock::time_point L7Exchange::now() const {
  return owner_.loop().now();
}

L7Exchange::~L7Exchange() {
  if (retired) {
    owner_.loop().unretire(*this);
  }
  for (TimerKind kind : {TimerKind::Request, TimerKind::Try, TimerKind::Retry}) {
    cancel(kind);
  }
  if (!down_closed_) {
    down_peer_->detach();
  }
  if (!up_closed_) {
    up_peer_->detach();
  }
  endpoint_done();
  report_outcome(Outcome::Abandoned);
}

// --- the client's side ---

void L7Exchange::Down::on_headers(l7::Headers headers, bool end_stream) {
  if (!x->request_head_seen_) {
    x->request_head_seen_ = true;
    x->request_head(std::move(headers), end_stream);
    return;
  }
  if (x->replay_kept_) {
    x->request_trailers_ = headers;
  }
  x->request_.finish(std::move(headers));  // trailers
  x->request_more();
}

void L7Exchange::Down::on_data(std::span<const uint8_t> data) {
  if (x->tap_) {
    x->tap_->request_bytes += data.size();
  }
  if (x->replay_kept_) {
    if (x->replay_.size() + data.size() <= kMaxReplay) {
      x->replay_.insert(x->replay_.end(), data.begin(), data.end());
    } else {
      x->replay_kept_ = false;
      x->replay_ = {};
    }
  }
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
    x->grpc_status_ = l7::header_int(s, -1);
  }
  x->response_.finish(std::move(headers));  // trailers
  x->response_more();
}

void L7Exchange::Up::on_data(std::span<const uint8_t> data) {
  if (x->tap_) {
    x->tap_->response_bytes += data.size();
  }
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
  // A retry reads the body again: only bytes no attempt read before open the client's window.
  x->attempt_read_ += chunk.size;
  if (x->attempt_read_ > x->consumed_ && !x->down_closed_) {
    x->down_peer_->consume(x->attempt_read_ - x->consumed_);
    x->consumed_ = x->attempt_read_;
  }
  return chunk;
}

l7::Headers L7Exchange::Up::trailers() {
  return x->request_.take_trailers();
}

// --- the exchange ---

void L7Exchange::request_head(l7::Headers headers, bool end_stream) {
  if (owner_.tap().active()) {
    tap_ = owner_.tap().begin(headers);
  }
  grpc_ = l7::is_grpc(headers);
  if (owner_.flows().enabled()) {
    line_.set(headers);
    // A request from another agent says how its client spoke (weft-protocol), else HTTP/2.
    const std::string* wire = l7::find_header(headers, "weft-protocol");
    wire_protocol_ = down_h2_ && (wire == nullptr || *wire != "http/1.1") ? "HTTP/2" : "HTTP/1.1";
  }
  request_has_body_ = !end_stream;
  if (end_stream) {
    request_.finish();
  }
  Routed routed = owner_.route(headers);
  rule_ = routed.rule;
  route_view_ = std::move(routed.view);
  target_ = std::move(routed.target);
  probe_ = routed.probe;
  set_deadline(headers);
  if (routed.no_backend) {
    return respond_locally(500, l7::grpc_status::kUnavailable, "the matching route has no backend");
  }
  if (target_ == nullptr || !target_->reachable) {
    return respond_locally(503, l7::grpc_status::kUnavailable, "no healthy upstream");
  }
  if (!target_->plan.denied.empty()) {
    endpoint_ = owner_.endpoint(*target_);
    report_outcome(Outcome::Abandoned);  // a probe chosen here says nothing of it
    return respond_locally(403, l7::grpc_status::kPermissionDenied,
                           "denied by the destination's policy");
  }
  bool retries = rule_ != nullptr && rule_->retry;
  if (retries || owner_.refusal() == Refusal::Reroute) {
    original_head_ = headers;  // ~0.1 us: a request that reaches no app is sent elsewhere
    replay_kept_ = true;
  }
  if (retries) {
    budget_key_ = target_->plan.service_address.value_or(target_->plan.target);
    owner_.retry_budget(budget_key_).request(start_);
  }
  send_attempt(std::move(headers), end_stream);
}

void L7Exchange::send_attempt(l7::Headers headers, bool end_stream) {
  auto link = owner_.upstream(*target_);
  if (!link) {
    log::warn("http.upstream_failed", "worker={} target={} error=\"{}\"", owner_.loop().index(),
              target_->plan.target.str(), link.error().message);
    unlinked();
    if (reroute_unlinked()) {
      return;
    }
    return respond_locally(503, l7::grpc_status::kUnavailable, "upstream connect error");
  }
  // weft's own headers never come from the app, nor reach it; across nodes the target adds
  // the ones the tunnel carries.
  std::erase_if(headers, [](const l7::Header& h) { return is_tunnel_header(h.name); });
  if (rule_ != nullptr && rule_->request_headers) {
    l7::apply_header_filter(*rule_->request_headers, headers);
  }
  if (link->h1 != nullptr) {
    link->h1->start(headers, !end_stream, up_);
    up_peer_ = link->h1;
  } else {
    int32_t id = link->h2->session().submit_request(std::move(headers), !end_stream, &up_,
                                                    target_->tunnel_headers);
    if (id < 0) {
      unlinked();
      return respond_locally(503, l7::grpc_status::kUnavailable, "upstream refused the stream");
    }
    link->h2->touch();
    up_h2_.emplace(*link->h2, id);
    up_peer_ = &*up_h2_;
  }
  up_closed_ = false;
  endpoint_ = owner_.endpoint(*target_);
  if (endpoint_ != nullptr) {
    endpoint_->load.started();
    load_open_ = true;
  }
  if (rule_ != nullptr && rule_->timeouts.backend_request &&
      rule_->timeouts.backend_request->count() > 0) {
    arm(TimerKind::Try, *rule_->timeouts.backend_request);
  }
}

void L7Exchange::request_more() {
  if (!up_closed_) {
    up_peer_->resume();
  }
}

void L7Exchange::response_head(l7::Headers headers, bool end_stream) {
  int status = l7::header_int(l7::find_header(headers, ":status"), 0);
  if (status >= 100 && status < 200) {
    if (!down_closed_) {
      down_peer_->send_head(std::move(headers), false);  // informational: the final head follows
    }
    return;
  }
  agent::AttemptFailure answer{agent::RetryReason::Response, status};
  if (end_stream && grpc_) {
    answer.grpc_status =
        l7::header_int(l7::find_header(headers, "grpc-status"), -1);  // trailers-only
  }
  bool failed = status >= 500 || answer.grpc_status == l7::grpc_status::kUnavailable ||
                answer.grpc_status == l7::grpc_status::kInternal;
  if ((retryable_answer(status, headers, end_stream) || (probe_ && failed)) && try_retry(answer)) {
    return;
  }
  // No other attempt can follow: the copies kept for one go.
  replay_kept_ = false;
  replay_ = {};
  original_head_ = {};
  cancel(TimerKind::Try);
  endpoint_done();
  status_ = status;
  response_started_ = true;
  if (rule_ != nullptr && rule_->response_headers) {
    l7::apply_header_filter(*rule_->response_headers, headers);
  }
  if (tap_) {
    owner_.tap().responded(*tap_, headers);
  }
  if (end_stream) {
    if (const std::string* s = l7::find_header(headers, "grpc-status")) {
      grpc_status_ = l7::header_int(s, -1);  // trailers-only response
    }
    response_.finish();
  }
  if (!down_closed_) {
    down_peer_->send_head(std::move(headers), !end_stream);
  }
}

void L7Exchange::response_more() {
  if (!down_closed_) {
    down_peer_->resume();
  }
}

void L7Exchange::up_closed(uint32_t error_code) {
  up_closed_ = true;
  if (error_code == NGHTTP2_NO_ERROR) {
    bool server_error =
        status_ >= 500 || (grpc_ && (grpc_status_ == l7::grpc_status::kUnavailable ||
                                     grpc_status_ == l7::grpc_status::kInternal));
    report_outcome(server_error ? Outcome::Failed : Outcome::Succeeded);
  } else {
    // CONNECT_ERROR: the tunnel to the endpoint's agent failed (TunnelSession), not the
    // endpoint. Its breaker counts a path that fails, as for a refused connection, so that once
    // the path heals the endpoint is tried when no other one admits a request; SuspectPeers
    // keeps work away from it meanwhile.
    bool path = error_code == NGHTTP2_REFUSED_STREAM || error_code == NGHTTP2_CONNECT_ERROR;
    report_outcome(path ? Outcome::Unreachable : Outcome::Failed);
  }
  if (error_code != NGHTTP2_NO_ERROR) {
    endpoint_done();
    // A refused stream never reached the app: another endpoint may take it.
    bool unreached = error_code == NGHTTP2_REFUSED_STREAM;
    if (unreached && resend_unanswered(/*may_have_reached_app=*/false)) {
      return;
    }
    if (!response_started_ &&
        (try_retry({unreached ? agent::RetryReason::ConnectFailure : agent::RetryReason::Reset}) ||
         resend_unanswered(/*may_have_reached_app=*/true))) {
      return;
    }
    if (!response_started_) {
      // Nothing reached the client yet: answer it here.
      respond_locally(unreached ? 503 : 502, l7::grpc_status::kUnavailable,
                      unreached ? "upstream connect error" : "upstream reset");
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
    report_outcome(response_started_ ? Outcome::Succeeded : Outcome::Abandoned);
  }
  for (TimerKind kind : {TimerKind::Request, TimerKind::Try, TimerKind::Retry}) {
    cancel(kind);
  }
  record();
  check_finished();
}

void L7Exchange::set_deadline(const l7::Headers& head) {
  std::optional<Clock::duration> timeout;
  if (rule_ != nullptr && rule_->timeouts.request && rule_->timeouts.request->count() > 0) {
    timeout = *rule_->timeouts.request;  // "0s" means no timeout
  }
  if (const std::string* t = l7::find_header(head, "grpc-timeout"); t != nullptr && grpc_) {
    if (auto client = l7::parse_grpc_timeout(*t); client && (!timeout || *client < *timeout)) {
      timeout = *client;
    }
  }
  if (timeout) {
    arm(TimerKind::Request, *timeout - (now() - start_));
  }
}

void L7Exchange::arm(TimerKind kind, Clock::duration after) {
  cancel(kind);
  timers_[static_cast<int>(kind)] =
      owner_.loop().add_deadline(now() + after, this, static_cast<unsigned>(kind));
}

void L7Exchange::cancel(TimerKind kind) {
  auto& timer = timers_[static_cast<int>(kind)];
  if (timer) {
    owner_.loop().cancel_deadline(*timer);
    timer.reset();
  }
}

void L7Exchange::erase_now() {
  owner_.erase(this);
}

void L7Exchange::timer_fired(unsigned fired) {
  auto kind = static_cast<TimerKind>(fired);
  timers_[fired].reset();
  if (down_closed_) {
    return;
  }
  if (kind == TimerKind::Retry) {
    resend();
    return;
  }
  if (kind == TimerKind::Try && !response_started_) {
    if (!up_closed_) {
      up_peer_->detach();  // this attempt took too long: RST_STREAM(CANCEL) upstream
      up_closed_ = true;
    }
    endpoint_done();
    report_outcome(Outcome::Failed);
    if (try_retry({agent::RetryReason::Timeout})) {
      return;
    }
  }
  if (kind == TimerKind::Try && response_started_) {
    return;  // the attempt answered in time; the body streams under the request timeout
  }
  if (!up_closed_) {
    up_peer_->detach();  // RST_STREAM(CANCEL) upstream: the app stops working on it
    up_closed_ = true;
    endpoint_done();
    report_outcome(Outcome::Failed);
  }
  cancel(TimerKind::Retry);
  if (!response_started_) {
    respond_locally(504, l7::grpc_status::kDeadlineExceeded, "request timeout");
  } else {
    down_peer_->reset(NGHTTP2_CANCEL);
  }
  check_finished();
}

void L7Exchange::respond_locally(int status, int grpc_status, std::string_view message) {
  response_started_ = true;
  local_reason_ = message;  // every caller passes a literal
  if (grpc_) {
    status_ = 200;
    grpc_status_ = grpc_status;
    response_.finish();
    l7::Headers head{{":status", "200"},
                     {"content-type", "application/grpc"},
                     {"grpc-status", std::to_string(grpc_status)},
                     {"grpc-message", std::string(message)}};
    down_peer_->send_head(std::move(head), false);
    return;
  }
  status_ = status;
  std::string body = std::string(message) + "\n";
  response_.append({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  response_.finish();
  l7::Headers head{{":status", std::to_string(status)},
                   {"content-type", "text/plain"},
                   {"content-length", std::to_string(body.size())}};
  if (tap_) {
    owner_.tap().responded(*tap_, head);
  }
  down_peer_->send_head(std::move(head), true);
}

void L7Exchange::endpoint_done() {
  if (load_open_) {
    endpoint_->load.finished(start_, now());
    load_open_ = false;
  }
}

void L7Exchange::report_outcome(Outcome outcome) {
  if (endpoint_ == nullptr || outcome_reported_) {
    return;
  }
  outcome_reported_ = true;
  Clock::time_point at = now();
  if (outcome == Outcome::Abandoned) {
    endpoint_->breaker.abandoned(at);
  } else if (outcome != Outcome::Succeeded) {
    uint32_t before = endpoint_->breaker.ejections();
    double jitter = static_cast<double>(owner_.loop().random().next() >> 11) * 0x1.0p-53;
    if (outcome == Outcome::Unreachable) {
      endpoint_->breaker.unreachable(at, jitter);
    } else {
      endpoint_->breaker.failed(at, jitter);
    }
    if (endpoint_->breaker.ejections() != before) {
      log::info("http.endpoint_ejected", "worker={} endpoint={} service={}", owner_.loop().index(),
                target_->plan.target.str(), target_->plan.labels.destination_service);
      target_->ejections(protocol()).Increment();
    }
  } else {
    endpoint_->breaker.succeeded();
  }
}

void L7Exchange::record() {
  if (recorded_) {
    return;
  }
  recorded_ = true;
  double seconds = std::chrono::duration<double>(now() - start_).count();
  if (target_ != nullptr) {
    for (agent::RequestSeries& s : target_->series) {
      s.record(protocol(), route(), status_, grpc_status_, seconds);
    }
  }
  owner_.flows().add([this, seconds](agent::FlowRecord& r) { flow_record(r, seconds); });
  if (tap_) {
    owner_.tap().publish(tap_event(seconds));
  }
}

void L7Exchange::flow_record(agent::FlowRecord& r, double seconds) const {
  r.kind = agent::FlowKind::Request;
  r.protocol = grpc_ ? "gRPC" : wire_protocol_;
  r.set_request(line_);
  r.status = status_;
  r.grpc_status = grpc_status_;
  r.seconds = seconds;
  // A policy's refusal is denied; an answer of the agent's own because no endpoint took the
  // request (none ready, refused, unreachable) failed; anything else reached an app.
  if (!local_reason_.empty()) {
    int code = grpc_ ? (grpc_status_ == l7::grpc_status::kPermissionDenied ? 403 : 503) : status_;
    if (code == 403) {
      r.verdict = agent::FlowVerdict::Denied;
      r.reason = target_ != nullptr ? target_->plan.denied : std::string();
    } else if (code != 504) {
      r.verdict = agent::FlowVerdict::Failed;
      r.reason = local_reason_;
    } else {
      r.reason = local_reason_;
    }
  }
  std::optional<IpAddr> client = client_ip();
  if (target_ == nullptr) {
    r.src.address = client ? std::optional(SockAddr{*client, 0}) : std::nullopt;
    return;
  }
  r.set_flow(target_->plan.labels, client, target_->plan.target);
}

std::optional<IpAddr> L7Exchange::client_ip() const {
  const agent::MeshedPod& pod = owner_.pod();
  if (target_ != nullptr && target_->plan.client_ip) {
    return target_->plan.client_ip;
  }
  if (target_ != nullptr && target_->plan.labels.reporter != "source") {
    return std::nullopt;  // an inbound request whose client the agent does not know
  }
  return pod.ips.empty() ? std::nullopt : std::optional(pod.ips.front());
}

agent::TapEvent L7Exchange::tap_event(double seconds) {
  agent::TapEvent e;
  const agent::MeshedPod& pod = owner_.pod();
  e.pod = pod.display_name();
  e.protocol = grpc_ ? "grpc" : "http";
  e.route = std::string(route());
  e.status = status_;
  e.grpc_status = grpc_status_;
  e.latency_seconds = seconds;
  e.retries = retries_;
  if (target_ != nullptr) {
    const FlowPlan& plan = target_->plan;
    const agent::FlowLabels& labels = plan.labels;
    e.outbound = labels.reporter == "source";
    e.tls = labels.security_policy == "mutual_tls";
    e.service = labels.destination_service;
    e.src = {std::nullopt, labels.source.workload, labels.source.ns, labels.source.principal};
    e.dst = {plan.target, labels.destination.workload, labels.destination.ns,
             labels.destination.principal};
    if (up_peer_ != nullptr) {
      e.upstream = plan.target;
    }
  }
  if (auto client = client_ip()) {
    e.src.address = SockAddr{*client, 0};
  }
  e.request = std::move(*tap_);
  return e;
}

void L7Exchange::check_finished() {
  if (finished() && !retired) {
    owner_.loop().retire(*this);
  }
}

}  // namespace weft::proxy
