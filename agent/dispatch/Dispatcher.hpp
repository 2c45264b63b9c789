// What one worker's connections become: its listener of every meshed pod, the decision for each
// accepted connection (relay, tunnel stream, HTTP, detection first), and the connection objects,
// tunnel sessions and pools it owns. Runs on its worker's thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

#include "agent/dispatch/ProtocolSniffer.hpp"
#include "agent/http/AppHttp.hpp"
#include "agent/http/HttpHost.hpp"
#include "agent/http/OutboundHttp.hpp"
#include "agent/http/PlaintextInboundHttp.hpp"
#include "agent/http/UpstreamPool.hpp"
#include "agent/l4/Relay.hpp"
#include "agent/loop/DrainStep.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/loop/TimeLimits.hpp"
#include "agent/metrics/FdMetrics.hpp"
#include "agent/metrics/RequestMetrics.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/metrics/TimeoutMetrics.hpp"
#include "agent/metrics/TunnelMetrics.hpp"
#include "agent/netns/Netns.hpp"
#include "agent/netns/PodSockets.hpp"
#include "agent/plan/Balancer.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/plan/NodeView.hpp"
#include "agent/plan/Redial.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tunnel/TunnelHost.hpp"
#include "agent/tunnel/TunnelSession.hpp"
#include "common/Fd.hpp"
#include "l7/PowerOfTwoChoices.hpp"
#include "l7/ProtocolDetector.hpp"
#include "l7/RetryBudget.hpp"

namespace weft::redirect {
class Redirector;
}

namespace weft::proxy {

/// What a worker needs from the rest of the agent. Everything here is safe to use from several
/// threads: map lookups are syscalls, counters are atomics, families lock internally.
struct WorkerContext {
  const redirect::Redirector& redirector;
  agent::TcpMetrics& metrics;
  agent::TunnelMetrics& tunnel_metrics;
  agent::RequestMetrics& request_metrics;
  agent::TapHub& tap;
  agent::FlowLog& flows;
  agent::FdMetrics& fd_metrics;
  agent::TimeoutMetrics& timeouts;
  /// Every worker's connections, shared out by source.
  SourceShares& shares;
  TimeLimits limits;
  uint32_t socket_mark = 0;
  /// How long an outbound connection to a Service may stay silent before it is carried as TCP
  /// (server-speaks-first protocols).
  unsigned protocol_detection_timeout_ms = 1000;
  /// Seed of the random choices (worker `i` uses seed + i); empty: from getrandom().
  std::optional<uint64_t> random_seed;
};

/// Listeners for one pod on one worker (each is one socket of a SO_REUSEPORT group).
struct PodListeners {
  std::shared_ptr<const agent::MeshedPod> pod;
  Fd outbound_v4;  ///< 127.0.0.1:15001
  Fd outbound_v6;  ///< [::1]:15001, empty when the pod has no IPv6 loopback
  Fd inbound;      ///< 0.0.0.0:15006 (tc assigns captured SYNs here)
  Fd tunnel;       ///< 0.0.0.0:15008 (mTLS from other agents)
};

/// Messages from the control thread. Applied on the worker's own thread, in order.
struct AddPod {
  PodListeners listeners;
};
struct RemovePod {
  uint32_t pod_id = 0;
};
struct UpdateView {
  std::shared_ptr<const NodeView> view;
};
/// SIGTERM: close every listener (queued connections move to a successor's sockets of the same
/// SO_REUSEPORT groups), tell every connection to finish (DrainStep), and end what remains at
/// `deadline`.
struct Drain {
  Loop::Clock::time_point deadline;
};
using WorkerCommand = std::variant<AddPod, RemovePod, UpdateView, Drain>;

class Dispatcher final : public Relay::Owner,
                         public Timed,
                         public HttpHost,
                         public TunnelHost,
                         public PodSockets {
 public:
  /// `home`: the netns the worker's thread returns to after opening a socket in a pod's;
  /// `seed`: of the L4 balancer's random choices.
  Dispatcher(Loop& loop, WorkerContext context, std::shared_ptr<const NodeView> view, Netns home,
             uint64_t seed);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// A command of the control thread, on the worker's thread.
  void apply(WorkerCommand& command);
  /// Once a second: paused accepts, tunnel timeouts, idle pooled connections, stalled relays,
  /// expired tickets.
  void tick(Loop::Clock::time_point now);

  unsigned index() const { return loop_.index(); }
  /// Draining, and nothing is left open but idle pooled connections (thread-safe).
  bool drained() const { return drained_.load(std::memory_order_acquire); }

  // Relay::Owner.
  void relay_finished(Relay& relay) override;

  // Redialer (Relay::Owner, TunnelHost).
  void redial(Redial attempt, const agent::FlowLabels& failed, Fd app, SourceShare share,
              std::vector<uint8_t> received) override;

  // Timed: the drain's GOAWAY and its end.
  void timer_fired(unsigned kind) override;

  // PodSockets.
  Result<Fd> open_upstream(const agent::MeshedPod& pod, sa_family_t family,
                           const std::optional<IpAddr>& transparent_source = std::nullopt) override;

  // TunnelHost.
  HttpHost& http() override { return *this; }
  PodSockets& sockets() override { return *this; }
  agent::TunnelMetrics& tunnel_metrics() override { return context_.tunnel_metrics; }
  const TimeLimits& limits() const override { return context_.limits; }
  const std::string& trust_domain() const override { return view_->trust_domain; }
  std::vector<agent::FlowCounters> counters_for(const FlowPlan& plan) override;
  std::optional<FlowPlan> plan_tunnel_stream(const agent::MeshedPod& pod, const TunnelRequest& req,
                                             const std::string& principal) override;
  uint64_t identity_generation(const std::string& principal) const override;
  void tunnel_unusable(TunnelSession& session) override;
  void peer_unreachable(const IpAddr& destination) override;
  void peer_reachable(const IpAddr& destination) override;
  void store_ticket(const TunnelKey& key, identity::SslSessionPtr ticket) override;
  void session_finished(TunnelSession& session) override;

  // HttpHost (and TunnelHost: loop()).
  Loop& loop() override { return loop_; }
  const std::shared_ptr<const NodeView>& view() const override { return view_; }
  agent::RequestMetrics& request_metrics() override { return context_.request_metrics; }
  agent::TapHub& tap() override { return context_.tap; }
  agent::FlowLog& flows() override { return context_.flows; }
  UpstreamPool& upstreams() override { return upstreams_; }
  EndpointLoads& endpoint_loads() override { return endpoint_loads_; }
  const SuspectPeers& suspect_peers() const override { return suspects_; }
  l7::RetryBudget& retry_budget(const SockAddr& service) override {
    return retry_budgets_[service];
  }
  Result<H2Carrier*> tunnel_for(const agent::MeshedPod& pod, const FlowPlan& plan) override;
  void http_finished(AppHttp& http) override;
  void source_refused(const agent::WorkloadIdentity& source, std::string_view reason) override;
  void hand_over_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd socket, SourceShare share,
                          const SockAddr& original, std::span<const uint8_t> received) override;
  void hand_over_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd socket, SourceShare share,
                         const SockAddr& peer, const SockAddr& local,
                         std::span<const uint8_t> received) override;

  /// Protocol detection is over for the sniffer's connection (Undecided: it failed): carries
  /// it on and retires the sniffer.
  void detected(ProtocolSniffer& sniffer, l7::Protocol protocol);
  void sniffer_finished(ProtocolSniffer& sniffer);

 private:
  /// Carries an outbound connection by its protocol; `received` was read by detection.
  void dispatch_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream,
                         SourceShare share, const SockAddr& original, l7::Protocol protocol,
                         std::span<const uint8_t> received);
  /// Carries an unmeshed client's connection from `peer` to `pod`'s app at `local` by its
  /// protocol: HTTP per request, anything else as TCP; refused when the pod's policy of this
  /// moment denies it.
  void dispatch_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream,
                        SourceShare share, const SockAddr& peer, const SockAddr& local,
                        l7::Protocol protocol, std::span<const uint8_t> received);
  enum class ListenerKind { Outbound, Inbound, Tunnel };

  /// A multishot accept on one listening socket.
  struct Listener final : Operation {
    Dispatcher* dispatcher = nullptr;
    std::shared_ptr<const agent::MeshedPod> pod;
    Fd fd;
    ListenerKind kind = ListenerKind::Outbound;
    bool closing = false;
    void complete(int res, unsigned flags) override;
  };

  void apply(AddPod& cmd);
  void apply(RemovePod& cmd);
  void apply(UpdateView& cmd);
  void apply(Drain& cmd);
  /// Tells every connection the drain's next step.
  void drain(DrainStep step);
  /// Sets drained_ when only idle pooled connections are left.
  void check_drained();
  void add_listener(std::shared_ptr<const agent::MeshedPod> pod, Fd fd, ListenerKind kind);
  void arm_accept(Listener& l);
  void on_accept(Listener& l, int res, unsigned flags);
  void accept_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream);
  void accept_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream);
  void accept_tunnel(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream);
  /// Counts and refuses a connection the destination's policy does not allow; `caller`: the
  /// calling pod's address when the plan has no client's (outbound).
  void refuse(Fd downstream, const FlowPlan& plan, const std::optional<IpAddr>& caller = {});
  /// Writes a connection refused by policy to the flow history.
  void observe_denied(const agent::FlowLabels& labels, const std::optional<IpAddr>& client,
                      const SockAddr& target, const std::string& reason);
  /// Writes an outbound connection no endpoint took to the flow history.
  void observe_unserved(const agent::MeshedPod& pod, const agent::FlowLabels& labels,
                        const SockAddr& original, std::string_view reason);
  /// Carries an outbound connection by `plan` as TCP: directly, or through a tunnel to the
  /// agent of `plan.target`. `redial` (a Service's endpoint): one that cannot be reached hands
  /// the connection back (redial) instead of resetting it.
  void carry(const agent::MeshedPod& pod, Fd downstream, SourceShare share, FlowPlan plan,
             std::span<const uint8_t> received, std::optional<Redial> redial);
  void launch(const agent::MeshedPod& pod, Fd downstream, SourceShare share, FlowPlan plan,
              std::span<const uint8_t> received = {}, std::optional<Redial> redial = std::nullopt);
  /// A pooled (or new) tunnel session from `pod` to the agent behind `plan.target` that takes
  /// one more stream.
  Result<TunnelSession*> tunnel_session_for(const agent::MeshedPod& pod, const FlowPlan& plan);
  /// Carries `downstream` over a pooled (or new) tunnel session to the destination's agent.
  void launch_tunneled(const agent::MeshedPod& pod, Fd downstream, SourceShare share, FlowPlan plan,
                       std::span<const uint8_t> received = {},
                       std::optional<Redial> redial = std::nullopt);
  /// A connection handed back by redial(), once the batch that handed it back is done.
  struct Redialed {
    Redial attempt;
    agent::FlowLabels failed;
    Fd app;
    SourceShare share;
    std::vector<uint8_t> received;
  };
  void send_again(Redialed r);
  /// One more connection of `source` (`who`), or nothing when it holds its limit already:
  /// counted with who's identity, and logged at most once per tick.
  std::optional<SourceShare> take_share(const SourceKey& source,
                                        const agent::WorkloadIdentity& who);
  /// A connection object (relay, HTTP, sniffer, tunnel session) was erased.
  void object_gone();
  /// Counts a descriptor the worker could not get, and logs it at most once per tick.
  void out_of_fds(agent::FdOperation operation, const std::string& detail);

  Loop& loop_;
  WorkerContext context_;
  std::shared_ptr<const NodeView> view_;
  Netns home_;
  /// Peer agents that did not answer lately (see TunnelHost::peer_unreachable).
  SuspectPeers suspects_;
  Balancer balancer_;
  std::unordered_map<Listener*, std::unique_ptr<Listener>> listeners_;
  std::vector<Listener*> paused_;  ///< listeners whose accept waits for the next tick
  bool fd_warned_ = false;         ///< out_of_fds logged since the last tick
  bool share_warned_ = false;      ///< take_share refused and logged since the last tick
  /// Freed memory is returned to the kernel (mi_collect, or malloc_trim) on a tick once this many
  /// objects (connections, exchanges: Loop::take_erased) were erased since the last time: on the
  /// first tick that erased none, or after kTrimSpacing.
  static constexpr std::size_t kTrimAfter = 256;
  static constexpr auto kTrimSpacing = std::chrono::seconds(5);
  std::size_t erased_since_trim_ = 0;
  Loop::Clock::time_point last_trim_{};
  std::optional<Loop::Clock::time_point> drain_deadline_;  ///< set by Drain
  DrainStep drain_step_ = DrainStep::Notice;               ///< the last one told
  std::atomic<bool> drained_{false};
  std::unordered_map<Relay*, std::unique_ptr<Relay>> relays_;
  /// Connections redial() queued, sent again when the loop flushes (never inside the
  /// connection object that handed them back).
  struct Redials final : Flushable {
    explicit Redials(Dispatcher& d) : dispatcher(d) {}
    void touch() override;
    void flush_pending() override;
    Dispatcher& dispatcher;
    std::vector<Redialed> queue;
  };
  Redials redials_{*this};
  std::unordered_map<TunnelSession*, std::unique_ptr<TunnelSession>> tunnels_;
  /// Client sessions that take new streams, by (source identity, destination pod).
  TunnelPool<TunnelSession> tunnel_pool_;
  /// The newest resumption ticket per key; expired ones are dropped on the tick.
  TicketStore tickets_;
  // L7. Declared in this order so that destruction runs exchanges (in http_) first, then the
  // pooled connections they used.
  std::unordered_map<SockAddr, l7::RetryBudget> retry_budgets_;
  EndpointLoads endpoint_loads_;
  UpstreamPool upstreams_;
  std::unordered_map<ProtocolSniffer*, std::unique_ptr<ProtocolSniffer>> sniffers_;
  std::unordered_map<AppHttp*, std::unique_ptr<AppHttp>> http_;
};

}  // namespace weft::proxy
