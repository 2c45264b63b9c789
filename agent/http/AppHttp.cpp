#include "agent/http/AppHttp.hpp"

#include "agent/http/HttpHost.hpp"
#include "agent/http/UpstreamPool.hpp"
#include "agent/loop/Loop.hpp"

namespace weft::proxy {
namespace {

l7::H2Limits downstream_limits() {
  l7::H2Limits limits;
  limits.max_concurrent_streams = 1000;
  return limits;
}

}  // namespace

l7::RetryBudget& AppHttp::retry_budget(const SockAddr& service) {
  return host_.retry_budget(service);
}

AppHttp::AppHttp(HttpHost& host, std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                 l7::Protocol protocol)
    : host_(host),
      loop_(host.loop()),
      pod_(std::move(pod)),
      http1_(protocol == l7::Protocol::Http1) {
  if (http1_) {
    h1_ = std::make_unique<Http1Downstream>(host.loop(), *this, std::move(socket));
  } else {
    h2_ = std::make_unique<H2Connection>(host.loop(), *this, std::move(socket),
                                         l7::H2Session::Role::Server, downstream_limits(), this);
  }
}

AppHttp::~AppHttp() = default;

void AppHttp::hold(SourceShare share) {
  share_ = std::move(share);
  if (h1_) {
    h1_->charge_heads_to(&share_);
  }
}

void AppHttp::head_refused() {
  host_.source_refused(source_identity(), "source_head_bytes");
}

void AppHttp::start(std::span<const uint8_t> received) {
  if (h1_) {
    h1_->start(received);
  } else {
    h2_->start(received);
    h2_->touch();
  }
}

std::optional<agent::Timeout> AppHttp::expire(Loop::Clock::time_point now,
                                              const TimeLimits& limits) {
  if (exchanges_.empty()) {
    forget_targets();
  }
  return h1_ ? h1_->expire(now, limits) : h2_ ? h2_->expire(now, limits) : std::nullopt;
}

void AppHttp::drain(DrainStep step) {
  if (h1_) {
    h1_->drain(step);
  } else if (h2_) {
    h2_->drain(step);
  }
}

l7::H2Stream* AppHttp::accept_stream(int32_t id, const l7::Headers& /*head*/, bool /*end_stream*/) {
  return exchanges_.add(std::make_unique<L7Exchange>(*this, *h2_, id)).downstream_stream();
}

L7Exchange& AppHttp::open_exchange(ExchangePeer& client) {
  return exchanges_.add(std::make_unique<L7Exchange>(*this, &client));
}

void AppHttp::downstream_finished() {
  host_.http_finished(*this);
}

void AppHttp::erase(L7Exchange* exchange) {
  exchanges_.erase(exchange);
}

agent::TapHub& AppHttp::tap() {
  return host_.tap();
}

agent::FlowLog& AppHttp::flows() {
  return host_.flows();
}

void AppHttp::connection_finished(H2Connection& /*connection*/) {
  host_.http_finished(*this);
}

}  // namespace weft::proxy
