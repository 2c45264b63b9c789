// A client's HTTP connection that the agent terminates, in HTTP/2 or HTTP/1.1: each request
// becomes an exchange. Where the requests go is the subclass's: OutboundHttp balances an app's
// requests over a Service, PlaintextInboundHttp delivers an unmeshed client's to the app it
// reached.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "agent/http/ExchangeOwner.hpp"
#include "agent/http/ExchangeSet.hpp"
#include "agent/http/H2Connection.hpp"
#include "agent/http/Http1Downstream.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "common/Fd.hpp"
#include "l7/H2Session.hpp"
#include "l7/ProtocolDetector.hpp"

namespace weft::proxy {

class HttpHost;

/// Owned by its HttpHost (HttpHost::http_finished when the connection is over or handed over).
/// Still abstract: route(), upstream(), endpoint() and hand_over() are the subclass's.
class AppHttp : public ExchangeOwner,
                public H2Connection::Owner,
                public Http1Downstream::Owner,
                public l7::H2Session::Acceptor {
 public:
  /// `protocol`: what the client speaks on `socket` (Http1 or Http2); `pod`: the meshed pod
  /// on whose behalf the agent speaks HTTP (the caller outbound, the callee inbound).
  AppHttp(HttpHost& host, std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
          l7::Protocol protocol);
  virtual ~AppHttp();
  AppHttp(const AppHttp&) = delete;
  AppHttp& operator=(const AppHttp&) = delete;

  /// `received`: the bytes protocol detection already read.
  void start(std::span<const uint8_t> received);
  /// The connection counts against its source's share until it is over (or handed over).
  void hold(SourceShare share);
  /// The agent is draining (see DrainStep).
  void drain(DrainStep step);
  /// The worker's tick: the client's time limits (request head, idle); which one ended the
  /// connection. A connection with no exchange left also drops what it cached for them
  /// (forget_targets).
  std::optional<agent::Timeout> expire(Loop::Clock::time_point now, const TimeLimits& limits);

  // ExchangeOwner.
  /// Cached: L7Exchange reads the clock through it several times per request.
  Loop& loop() override { return loop_; }
  l7::RetryBudget& retry_budget(const SockAddr& service) override;
  void erase(L7Exchange* exchange) override;
  agent::TapHub& tap() override;
  agent::FlowLog& flows() override;
  const agent::MeshedPod& pod() const override { return *pod_; }

  // The client's connection.
  l7::H2Stream* accept_stream(int32_t id, const l7::Headers& head, bool end_stream) override;
  void connection_finished(H2Connection& connection) override;
  L7Exchange& open_exchange(ExchangePeer& client) override;
  void downstream_finished() override;
  void head_refused() override;

 protected:
  HttpHost& host_;
  Loop& loop_;
  std::shared_ptr<const agent::MeshedPod> pod_;
  bool http1_;  ///< the client speaks HTTP/1.1
  /// Who the client is, for the counts of its refusals.
  virtual agent::WorkloadIdentity source_identity() const = 0;
  /// No exchange is in flight: drop the targets planned for them (plans, labels, the NodeView
  /// they came from), so that an idle connection holds neither their memory nor an old view.
  virtual void forget_targets() = 0;
  SourceShare share_;

 private:
  ExchangeSet exchanges_;
  // Last: destroyed first, before the exchanges they report to.
  std::unique_ptr<H2Connection> h2_;
  std::unique_ptr<Http1Downstream> h1_;
};

}  // namespace weft::proxy
