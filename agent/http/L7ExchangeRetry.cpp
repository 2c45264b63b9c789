// L7Exchange's second chances: which answers and failures send the request again, under which
// budget and backoff, and how an attempt is abandoned and the request resent elsewhere.
#include <algorithm>
#include <string_view>

#include "agent/http/ExchangeOwner.hpp"
#include "agent/http/HttpTarget.hpp"
#include "agent/http/L7Exchange.hpp"

namespace weft::proxy {
namespace {

/// RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
bool idempotent(const std::string* method) {
  if (method == nullptr) {
    return false;
  }
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}) {
    if (*method == m) {
      return true;
    }
  }
  return false;
}

/// The first backoff when the rule names none.
constexpr auto kDefaultBackoff = std::chrono::milliseconds(25);

}  // namespace

bool L7Exchange::retryable_answer(int status, const l7::Headers& head, bool end_stream) const {
  if (rule_ == nullptr || !rule_->retry) {
    return false;
  }
  int code = status;
  if (grpc_) {
    const std::string* s = l7::find_header(head, "grpc-status");
    if (!end_stream || s == nullptr) {
      return false;  // a gRPC failure is only known here when it is a trailers-only answer
    }
    code = l7::header_int(s, -1);
  }
  const auto& codes = rule_->retry->codes;
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

bool L7Exchange::try_retry(const agent::AttemptFailure& why) {
  if (down_closed_ || response_started_ || !request_.finished() || !replay_kept_ ||
      (!grpc_ && !idempotent(l7::find_header(original_head_, ":method")))) {
    return false;
  }
  if (probe_) {
    abandon_attempt(why);
    resend();
    return true;
  }
  if (rule_ == nullptr || !rule_->retry || retries_ >= rule_->retry->attempts.value_or(1)) {
    return false;
  }
  if (!owner_.retry_budget(budget_key_).try_spend(now())) {
    return false;  // retries must never multiply an outage
  }
  abandon_attempt(why);
  ++retries_;
  auto base = rule_->retry->backoff.value_or(kDefaultBackoff) * (1u << std::min(retries_ - 1, 6u));
  // The rule's backoff is the least wait (GEP-1731): jitter only lengthens it, by up to half.
  double jitter = 1 + static_cast<double>(owner_.loop().random().next() >> 11) * 0x1.0p-54;
  arm(TimerKind::Retry, std::chrono::duration_cast<Clock::duration>(base * jitter));
  return true;
}

bool L7Exchange::resend_unanswered(bool may_have_reached_app) {
  if (down_closed_ || response_started_) {
    return false;
  }
  switch (owner_.refusal()) {
    case Refusal::Answer:
      return false;
    case Refusal::PassOn:
      // The agent that chose this endpoint decides, and counts a request that never reached
      // an app where it goes next.
      recorded_ = !may_have_reached_app;
      down_peer_->reset(may_have_reached_app ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_REFUSED_STREAM);
      return true;
    case Refusal::Reroute:
      break;
  }
  if (may_have_reached_app) {
    // Only an idempotent HTTP request may be sent again, once (RFC 9110 9.2.2).
    if (resent_lost_ || grpc_ || !request_.finished() || !replay_kept_ ||
        !idempotent(l7::find_header(original_head_, ":method"))) {
      return false;
    }
    resent_lost_ = true;
    abandon_attempt({agent::RetryReason::Reset});
  } else {
    if (attempt_read_ > 0 && !replay_kept_) {
      return false;  // part of a large body left with the attempt, and nothing kept it
    }
    // (Called from up_closed, while the carrier that closed the stream is still there.)
    bool dial_again =
        up_h2_ && up_peer_ == &*up_h2_ && up_h2_->carrier().dial_ran_out() && !dialled_again_;
    if (dial_again) {
      dialled_again_ = true;  // the peer may be back; the endpoint gets one more try
    } else {
      unreachable_.push_back(target_->plan.target);
    }
    abandon_attempt({agent::RetryReason::ConnectFailure});
  }
  resend();
  return true;
}

void L7Exchange::unlinked() {
  endpoint_ = owner_.endpoint(*target_);
  report_outcome(Outcome::Unreachable);
}

bool L7Exchange::reroute_unlinked() {
  if (down_closed_ || owner_.refusal() != Refusal::Reroute || !replay_kept_) {
    return false;
  }
  failed_endpoint_ = target_->plan.target;
  unreachable_.push_back(target_->plan.target);
  target_->retries(protocol(), route(), {agent::RetryReason::ConnectFailure}).Increment();
  resend();
  return true;
}

void L7Exchange::abandon_attempt(const agent::AttemptFailure& why) {
  if (!up_closed_) {
    up_peer_->detach();  // the failed attempt's answer is dropped
    up_closed_ = true;
  }
  cancel(TimerKind::Try);
  endpoint_done();
  report_outcome(why.reason == agent::RetryReason::ConnectFailure ? Outcome::Unreachable
                                                                  : Outcome::Failed);
  failed_endpoint_ = target_->plan.target;
  target_->retries(protocol(), route(), why).Increment();
}

void L7Exchange::resend() {
  if (down_closed_) {
    return;
  }
  Routed routed = owner_.route(original_head_, Avoid{&failed_endpoint_, unreachable_});
  target_ = std::move(routed.target);
  probe_ = routed.probe;
  if (target_ == nullptr || !target_->reachable) {
    respond_locally(503, l7::grpc_status::kUnavailable, "no healthy upstream");
    check_finished();
    return;
  }
  endpoint_ = nullptr;
  outcome_reported_ = false;
  status_ = 0;
  grpc_status_ = -1;
  if (replay_kept_) {
    // The body again from the start; what the client sends from now on is appended.
    bool ended = request_.finished();
    request_ = l7::BodyBuffer();
    request_.append(replay_);
    if (ended) {
      request_.finish(request_trailers_);
    }
  }
  attempt_read_ = 0;
  response_ = l7::BodyBuffer();
  send_attempt(original_head_, !request_has_body_);
}

}  // namespace weft::proxy
