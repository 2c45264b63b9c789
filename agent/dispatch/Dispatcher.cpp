#include "agent/dispatch/Dispatcher.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "agent/l4/Relay.hpp"
#include "agent/loop/FreedMemory.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/redirect/Redirector.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
namespace {

Result<SockAddr> socket_address(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) {
    return fail_errno(peer ? "getpeername" : "getsockname");
  }
  auto addr = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  if (!addr) {
    return fail(Error::Kind::Protocol, "accepted socket is not IPv4/IPv6");
  }
  // An IPv4 peer seen through an IPv6 socket is ::ffff:a.b.c.d; routing speaks plain IPv4.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (addr->ip.family == AF_INET6 && std::memcmp(addr->ip.bytes.data(), kMapped, 12) == 0) {
    in_addr v4{};
    std::memcpy(&v4, addr->ip.bytes.data() + 12, 4);
    addr->ip = IpAddr::v4(v4);
  }
  return *addr;
}

/// The keys of an owner map (object pointers), taken before calls that may finish some of its
/// objects: the loops must not walk a map that changes under them.
template <class Map>
std::vector<typename Map::key_type> keys_of(const Map& map) {
  std::vector<typename Map::key_type> keys;
  keys.reserve(map.size());
  for (const auto& entry : map) {
    keys.push_back(entry.first);
  }
  return keys;
}

/// Resets a connection we will not serve: the app sees ECONNRESET at once instead of a hang.
void reset(Fd fd) {
  linger lg{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

}  // namespace

Dispatcher::Dispatcher(Loop& loop, WorkerContext context, std::shared_ptr<const NodeView> view,
                       Netns home, uint64_t seed)
    : loop_(loop),
      context_(context),
      view_(std::move(view)),
      home_(std::move(home)),
      suspects_(context_.limits.tunnel_ping_timeout),
      balancer_(seed, suspects_),
      upstreams_(loop_, *this, static_cast<unsigned>(context_.limits.connect.count())) {
  loop_.count_timeouts_in(context_.timeouts);
}

Dispatcher::~Dispatcher() {
  if (redials_.dirty) {
    loop_.forget(redials_);
  }
}

void Dispatcher::apply(WorkerCommand& command) {
  std::visit([this](auto& c) { apply(c); }, command);
}

void Dispatcher::apply(AddPod& cmd) {
  auto& l = cmd.listeners;
  add_listener(l.pod, std::move(l.outbound_v4), ListenerKind::Outbound);
  if (l.outbound_v6) {
    add_listener(l.pod, std::move(l.outbound_v6), ListenerKind::Outbound);
  }
  add_listener(l.pod, std::move(l.inbound), ListenerKind::Inbound);
  add_listener(l.pod, std::move(l.tunnel), ListenerKind::Tunnel);
}

void Dispatcher::apply(RemovePod& cmd) {
  std::erase_if(paused_, [&](Listener* l) {
    if (l->pod->id == cmd.pod_id) {
      listeners_.erase(l);  // nothing in flight: closes the socket
      return true;
    }
    return false;
  });
  for (auto& [ptr, l] : listeners_) {
    if (l->pod->id == cmd.pod_id && !l->closing) {
      l->closing = true;
      io_uring_prep_cancel(loop_.ring().prepare(nullptr), l.get(), 0);
    }
  }
  // Connections already relayed keep running: they end when the pod's processes close them.
}

void Dispatcher::apply(UpdateView& cmd) {
  view_ = std::move(cmd.view);
}

void Dispatcher::apply(Drain& cmd) {
  if (drain_deadline_) {
    return;
  }
  drain_deadline_ = cmd.deadline;
  // The GOAWAY that names the last stream a second after the notice (many round trips: the
  // peers have stopped opening streams here by then); the end at the deadline.
  loop_.add_deadline(Loop::Clock::now() + std::chrono::seconds(1), this,
                     static_cast<unsigned>(DrainStep::Goaway));
  loop_.add_deadline(cmd.deadline, this, static_cast<unsigned>(DrainStep::End));
  for (Listener* l : std::exchange(paused_, {})) {
    listeners_.erase(l);  // nothing in flight: closes the socket
  }
  // The final CQE of each cancelled accept closes its socket; what the kernel queued on it
  // then moves to another socket of the group (net.ipv4.tcp_migrate_req), a successor's.
  for (auto& [ptr, l] : listeners_) {
    if (!l->closing) {
      l->closing = true;
      io_uring_prep_cancel(loop_.ring().prepare(nullptr), l.get(), 0);
    }
  }
  drain(DrainStep::Notice);
  check_drained();
}

void Dispatcher::drain(DrainStep step) {
  drain_step_ = step;
  for (AppHttp* http : keys_of(http_)) {
    http->drain(step);
  }
  for (TunnelSession* session : keys_of(tunnels_)) {
    session->drain(step);
  }
  if (step == DrainStep::End) {
    for (Relay* relay : keys_of(relays_)) {
      relay->end();
    }
  }
}

void Dispatcher::timer_fired(unsigned kind) {
  auto step = static_cast<DrainStep>(kind);
  if (drain_step_ == DrainStep::Notice) {
    drain(DrainStep::Goaway);  // a deadline shorter than a second: End comes first
  }
  if (step == DrainStep::End) {
    drain(DrainStep::End);
  }
  check_drained();
}

void Dispatcher::check_drained() {
  bool streams = std::any_of(tunnels_.begin(), tunnels_.end(),
                             [](const auto& t) { return t.second->carries_streams(); });
  drained_.store(
      relays_.empty() && http_.empty() && sniffers_.empty() && !streams && redials_.queue.empty(),
      std::memory_order_release);
}

void Dispatcher::add_listener(std::shared_ptr<const agent::MeshedPod> pod, Fd fd,
                              ListenerKind kind) {
  auto l = std::make_unique<Listener>();
  l->dispatcher = this;
  l->pod = std::move(pod);
  l->fd = std::move(fd);
  l->kind = kind;
  Listener& ref = *l;
  listeners_.emplace(l.get(), std::move(l));
  arm_accept(ref);
}

// CQE contract: multishot accept posts one CQE per connection with IORING_CQE_F_MORE while it
// stays armed; a CQE without F_MORE (error, cancel, overflow) ends it and we re-arm unless the
// listener is closing, in which case that final CQE is the moment to free it.
void Dispatcher::arm_accept(Listener& l) {
  io_uring_prep_multishot_accept(loop_.ring().prepare(&l), l.fd.get(), nullptr, nullptr,
                                 SOCK_CLOEXEC);
}

void Dispatcher::Listener::complete(int res, unsigned flags) {
  dispatcher->on_accept(*this, res, flags);
}

void Dispatcher::on_accept(Listener& l, int res, unsigned flags) {
  if (res >= 0) {
    Fd downstream(res);  // TCP_NODELAY once it is a connection's (SocketIo)
    if (l.closing && !drain_deadline_) {
      reset(std::move(downstream));  // the pod is gone
    } else if (l.kind == ListenerKind::Outbound) {
      accept_outbound(l.pod, std::move(downstream));
    } else if (l.kind == ListenerKind::Inbound) {
      accept_inbound(l.pod, std::move(downstream));
    } else {
      accept_tunnel(l.pod, std::move(downstream));
    }
  } else if (agent::fd_exhausted_errno(-res)) {
    // The connection stays in the listen queue: accepting again at once would fail the same
    // way in a loop; after a tick some descriptor may be free.
    out_of_fds(agent::FdOperation::Accept,
               fmt::format("accept in {}: {}", l.pod->display_name(), std::strerror(-res)));
    if ((flags & IORING_CQE_F_MORE) == 0 && !l.closing) {
      paused_.push_back(&l);
      return;
    }
  } else if (res != -ECANCELED) {
    log::warn("listener.accept_failed", "worker={} pod={} error=\"{}\"", index(),
              l.pod->display_name(), std::strerror(-res));
  }
  if ((flags & IORING_CQE_F_MORE) == 0) {
    if (l.closing) {
      listeners_.erase(&l);  // final CQE: closes the socket
    } else {
      arm_accept(l);
    }
  }
}

void Dispatcher::accept_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream) {
  auto peer = socket_address(downstream.get(), /*peer=*/true);
  if (!peer) {
    log::warn("flow.rejected", "worker={} pod={} reason=\"{}\"", index(), pod->display_name(),
              peer.error().message);
    return reset(std::move(downstream));
  }
  auto original = context_.redirector.original_destination(pod->netns_cookie, *peer);
  if (!original) {
    // Someone inside the pod connected to 127.0.0.1:15001 itself, or the LRU map evicted the
    // entry under pressure: there is no destination to forward to.
    log::warn("flow.rejected", "worker={} pod={} peer={} reason=\"no original destination\"",
              index(), pod->display_name(), peer->str());
    return reset(std::move(downstream));
  }
  auto share = take_share({pod->id, {}}, identity_of_local(*view_, *pod));
  if (!share) {
    return reset(std::move(downstream));
  }
  // Only traffic to a Service has endpoints to balance requests over; the Service port's
  // appProtocol, when it names one, spares the detection wait.
  l7::Protocol protocol = l7::Protocol::Opaque;
  if (view_->world) {
    discovery::Resolution r = view_->world->resolve(*original);
    if (r.kind == discovery::Resolution::Kind::Service && r.port != nullptr) {
      protocol = l7::declared_protocol(r.port->app_protocol);
    }
  }
  if (protocol == l7::Protocol::Undecided) {
    auto sniffer =
        std::make_unique<ProtocolSniffer>(*this, std::move(pod), std::move(downstream), *original,
                                          context_.protocol_detection_timeout_ms);
    sniffer->share = std::move(*share);
    ProtocolSniffer& ref = *sniffer;
    sniffers_.emplace(&ref, std::move(sniffer));
    ref.start();
    return;
  }
  dispatch_outbound(std::move(pod), std::move(downstream), std::move(*share), *original, protocol,
                    {});
}

void Dispatcher::detected(ProtocolSniffer& sniffer, l7::Protocol protocol) {
  loop_.retire(sniffer);  // what it holds is handed on here, the rest goes in settle()
  if (protocol == l7::Protocol::Undecided) {
    return reset(std::move(sniffer.downstream));
  }
  if (sniffer.inbound_peer) {
    return dispatch_inbound(std::move(sniffer.pod), std::move(sniffer.downstream),
                            std::move(sniffer.share), *sniffer.inbound_peer,
                            sniffer.original_destination, protocol, sniffer.received);
  }
  dispatch_outbound(std::move(sniffer.pod), std::move(sniffer.downstream), std::move(sniffer.share),
                    sniffer.original_destination, protocol, sniffer.received);
}

void Dispatcher::sniffer_finished(ProtocolSniffer& sniffer) {
  sniffers_.erase(&sniffer);
  object_gone();
}

void Dispatcher::dispatch_outbound(std::shared_ptr<const agent::MeshedPod> pod_ptr, Fd downstream,
                                   SourceShare share, const SockAddr& original,
                                   l7::Protocol protocol, std::span<const uint8_t> received) {
  const agent::MeshedPod& pod = *pod_ptr;
  if (protocol == l7::Protocol::Http2 || protocol == l7::Protocol::Http1) {
    auto http = std::make_unique<OutboundHttp>(*this, std::move(pod_ptr), original,
                                               std::move(downstream), protocol);
    OutboundHttp& ref = *http;
    ref.hold(std::move(share));
    http_.emplace(&ref, std::move(http));
    ref.start(received);
    if (drain_deadline_) {
      ref.drain(DrainStep::Notice);  // accepted just before the listener closed
    }
    return;
  }
  auto plan = plan_outbound(*view_, pod, original, balancer_, {}, loop_.now());
  if (!plan) {
    log::warn("flow.rejected", "worker={} pod={} dst={} reason=\"service has no ready endpoints\"",
              index(), pod.display_name(), original.str());
    agent::FlowLabels labels;
    labels.reporter = "source";
    labels.source = identity_of_local(*view_, pod);
    observe_unserved(pod, labels, original, "the Service has no ready endpoint");
    return reset(std::move(downstream));
  }
  if (!plan->denied.empty()) {
    return refuse(std::move(downstream), *plan,
                  pod.ips.empty() ? std::nullopt : std::optional(pod.ips.front()));
  }
  std::optional<Redial> redial;
  if (plan->service_address) {
    redial = Redial{std::move(pod_ptr), original, {}};
  }
  carry(pod, std::move(downstream), std::move(share), std::move(*plan), received,
        std::move(redial));
}

void Dispatcher::carry(const agent::MeshedPod& pod, Fd downstream, SourceShare share, FlowPlan plan,
                       std::span<const uint8_t> received, std::optional<Redial> redial) {
  if (plan.route == FlowPlan::Route::Tunnel) {
    return launch_tunneled(pod, std::move(downstream), std::move(share), std::move(plan), received,
                           std::move(redial));
  }
  launch(pod, std::move(downstream), std::move(share), std::move(plan), received,
         std::move(redial));
}

void Dispatcher::redial(Redial attempt, const agent::FlowLabels& failed, Fd app, SourceShare share,
                        std::vector<uint8_t> received) {
  balancer_.refused(attempt.tried.back(), loop_.now());
  redials_.queue.push_back(
      {std::move(attempt), failed, std::move(app), std::move(share), std::move(received)});
  redials_.touch();
}

void Dispatcher::Redials::touch() {
  if (!dirty) {
    dirty = true;
    dispatcher.loop_.needs_flush(*this);
  }
}

void Dispatcher::Redials::flush_pending() {
  for (Redialed& r : std::exchange(queue, {})) {
    dispatcher.send_again(std::move(r));
  }
}

void Dispatcher::send_again(Redialed r) {
  Redial& attempt = r.attempt;
  const agent::MeshedPod& pod = *attempt.pod;
  std::optional<FlowPlan> plan;
  SockAddr failed = attempt.tried.back();
  if (std::exchange(attempt.dial_last_again, false)) {
    attempt.tried.pop_back();  // not an endpoint that failed it: one whose peer may be back
  }
  if (attempt.tried.size() < Redial::kMaxAttempts) {
    plan = plan_outbound(*view_, pod, attempt.service, balancer_, attempt.tried, loop_.now());
  }
  if (!plan) {
    log::warn("flow.unserved",
              "worker={} pod={} dst={} tried={} reason=\"no endpoint took the connection\"",
              index(), pod.display_name(), attempt.service.str(), attempt.tried.size());
    context_.metrics.connect_failed(r.failed, "reset");
    observe_unserved(pod, r.failed, attempt.service, "no endpoint took the connection");
    return reset(std::move(r.app));
  }
  context_.metrics.connect_failed(r.failed, "redialed");
  if (!plan->denied.empty()) {
    return refuse(std::move(r.app), *plan,
                  pod.ips.empty() ? std::nullopt : std::optional(pod.ips.front()));
  }
  log::debug("flow.redial", "worker={} pod={} dst={} failed={} next={}", index(),
             pod.display_name(), attempt.service.str(), failed.str(), plan->target.str());
  carry(pod, std::move(r.app), std::move(r.share), std::move(*plan), r.received,
        std::move(attempt));
}

void Dispatcher::accept_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream) {
  auto peer = socket_address(downstream.get(), /*peer=*/true);
  auto local = socket_address(downstream.get(), /*peer=*/false);
  if (!peer || !local) {
    log::warn("flow.rejected", "worker={} pod={} reason=\"{}\"", index(), pod->display_name(),
              (!peer ? peer.error() : local.error()).message);
    return reset(std::move(downstream));
  }
  auto share = take_share({0, peer->ip}, identity_of_ip(*view_, peer->ip));
  if (!share) {
    return reset(std::move(downstream));
  }
  // The appProtocol of the Service ports this app serves, when they name one, spares the
  // detection wait (a server-speaks-first protocol declared tcp is carried at once).
  l7::Protocol protocol = l7::Protocol::Undecided;
  if (view_->world) {
    protocol = l7::declared_protocol(view_->world->endpoint_app_protocol(*local));
  }
  if (protocol == l7::Protocol::Undecided) {
    if (FlowPlan plan = plan_inbound(*view_, *pod, *peer, *local); !plan.denied.empty()) {
      return refuse(std::move(downstream), plan);  // before reading a byte of it
    }
    auto sniffer =
        std::make_unique<ProtocolSniffer>(*this, std::move(pod), std::move(downstream), *local,
                                          context_.protocol_detection_timeout_ms);
    sniffer->inbound_peer = *peer;
    sniffer->share = std::move(*share);
    ProtocolSniffer& ref = *sniffer;
    sniffers_.emplace(&ref, std::move(sniffer));
    ref.start();
    return;
  }
  dispatch_inbound(std::move(pod), std::move(downstream), std::move(*share), *peer, *local,
                   protocol, {});
}

void Dispatcher::dispatch_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream,
                                  SourceShare share, const SockAddr& peer, const SockAddr& local,
                                  l7::Protocol protocol, std::span<const uint8_t> received) {
  // Planned on the view of this moment: the pod's policy may have turned STRICT while the
  // client was being waited for or spoke HTTP, and nothing of this connection has reached the
  // app as TCP yet.
  FlowPlan plan = plan_inbound(*view_, *pod, peer, local);
  if (!plan.denied.empty()) {
    return refuse(std::move(downstream), plan);
  }
  if (protocol == l7::Protocol::Http2 || protocol == l7::Protocol::Http1) {
    auto http = std::make_unique<PlaintextInboundHttp>(*this, std::move(pod), std::move(downstream),
                                                       protocol, peer, plan.target);
    AppHttp& ref = *http;
    ref.hold(std::move(share));
    http_.emplace(&ref, std::move(http));
    ref.start(received);
    if (drain_deadline_) {
      ref.drain(DrainStep::Notice);  // accepted just before the listener closed
    }
    return;
  }
  launch(*pod, std::move(downstream), std::move(share), std::move(plan), received);
}

void Dispatcher::accept_tunnel(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream) {
  auto peer = socket_address(downstream.get(), /*peer=*/true);
  const std::string principal = identity_of_local(*view_, *pod).principal;
  auto id = view_->identities.find(principal);
  if (!peer || id == view_->identities.end()) {
    log::warn("tunnel.rejected", "worker={} pod={} reason=\"{}\"", index(), pod->display_name(),
              !peer ? peer.error().message : "no certificate for " + principal + " yet");
    return reset(std::move(downstream));
  }
  // The dialling agent connects from its pod's IP: if discovery knows that pod, the peer must
  // prove exactly its identity, not just any identity of the mesh.
  std::string expected;
  if (view_->world && view_->world->pod_by_ip(peer->ip) != nullptr) {
    expected = identity_of_ip(*view_, peer->ip).principal;
  }
  auto share = take_share({0, peer->ip}, identity_of_ip(*view_, peer->ip));
  if (!share) {
    return reset(std::move(downstream));
  }
  auto session =
      std::make_unique<TunnelSession>(*this, std::move(pod), std::move(downstream), id->second,
                                      std::move(expected), std::move(*share));
  TunnelSession& ref = *session;
  tunnels_.emplace(session.get(), std::move(session));
  ref.start(static_cast<unsigned>(context_.limits.connect.count()));
  ref.touch();
}

void Dispatcher::refuse(Fd downstream, const FlowPlan& plan, const std::optional<IpAddr>& caller) {
  const agent::FlowLabels& labels =
      plan.local_destination_labels ? *plan.local_destination_labels : plan.labels;
  context_.metrics.denied(labels, plan.denied);
  log::info("flow.denied", "worker={} src={} dst={} target={} reason={}", index(),
            labels.source.principal, labels.destination.principal, plan.target.str(), plan.denied);
  observe_denied(labels, plan.client_ip ? plan.client_ip : caller, plan.target, plan.denied);
  reset(std::move(downstream));
}

void Dispatcher::observe_denied(const agent::FlowLabels& labels,
                                const std::optional<IpAddr>& client, const SockAddr& target,
                                const std::string& reason) {
  context_.flows.add([&](agent::FlowRecord& r) {
    r.kind = agent::FlowKind::Connection;
    r.verdict = agent::FlowVerdict::Denied;
    r.protocol.assign("TCP");
    r.set_flow(labels, client, target);
    r.reason.assign(reason);
  });
}

void Dispatcher::observe_unserved(const agent::MeshedPod& pod, const agent::FlowLabels& labels,
                                  const SockAddr& original, std::string_view reason) {
  context_.flows.add([&](agent::FlowRecord& r) {
    r.kind = agent::FlowKind::Connection;
    r.verdict = agent::FlowVerdict::Failed;
    r.protocol.assign("TCP");
    r.set_flow(labels, pod.ips.empty() ? std::nullopt : std::optional(pod.ips.front()), original);
    r.reason.assign(reason);
  });
}

void Dispatcher::launch_tunneled(const agent::MeshedPod& pod, Fd downstream, SourceShare share,
                                 FlowPlan plan, std::span<const uint8_t> received,
                                 std::optional<Redial> redial) {
  auto session = tunnel_session_for(pod, plan);
  if (!session) {
    log::warn("flow.rejected", "worker={} pod={} reason=\"{}\"", index(), pod.display_name(),
              session.error().message);
    if (redial) {
      redial->tried.push_back(plan.target);
      return this->redial(std::move(*redial), plan.labels, std::move(downstream), std::move(share),
                          {received.begin(), received.end()});
    }
    return reset(std::move(downstream));
  }
  auto counters = counters_for(plan);
  (*session)->open_stream(std::move(downstream), std::move(plan), std::move(counters), received,
                          std::move(share), std::move(redial));
}

Result<H2Carrier*> Dispatcher::tunnel_for(const agent::MeshedPod& pod, const FlowPlan& plan) {
  auto session = tunnel_session_for(pod, plan);
  if (!session) {
    return std::unexpected(session.error());
  }
  return *session;
}

Result<TunnelSession*> Dispatcher::tunnel_session_for(const agent::MeshedPod& pod,
                                                      const FlowPlan& plan) {
  const std::string& principal = plan.labels.source.principal;
  auto id = view_->identities.find(principal);
  if (id == view_->identities.end()) {
    return fail(Error::Kind::Protocol, "no certificate for " + principal + " yet");
  }
  if (TunnelSession* pooled =
          tunnel_pool_.find(TunnelKeyView{principal, plan.target.ip}, id->second->generation)) {
    pooled->probe_before_stream(loop_.now());
    return pooled;
  }
  auto socket = open_upstream(pod, plan.target.ip.family);
  if (!socket) {
    return std::unexpected(socket.error());
  }
  TunnelKey key{principal, plan.target.ip};
  auto owned = std::make_unique<TunnelSession>(*this, key, std::move(*socket), id->second,
                                               plan.expected_peer, tickets_.find(key));
  TunnelSession* session = owned.get();
  tunnels_.emplace(session, std::move(owned));
  tunnel_pool_.add(key, session);
  std::chrono::milliseconds connect = context_.limits.connect;
  if (suspects_.suspect(plan.target.ip)) {
    // A peer that did not answer lately gets a PING timeout's worth of time to connect and
    // shake hands, so that a partition costs a request at most that and a healed one is used at
    // once. The endpoint choosers send only work that has nowhere else to go meanwhile.
    session->suspect_peer(context_.limits.tunnel_ping_timeout);
    suspects_.avoid(plan.target.ip, loop_.now());
    connect = std::min(connect, context_.limits.tunnel_ping_timeout);
  }
  session->start(static_cast<unsigned>(connect.count()));
  return session;
}

std::vector<agent::FlowCounters> Dispatcher::counters_for(const FlowPlan& plan) {
  std::vector<agent::FlowCounters> counters{context_.metrics.counters_for(plan.labels)};
  if (plan.local_destination_labels) {
    counters.push_back(context_.metrics.counters_for(*plan.local_destination_labels));
  }
  return counters;
}

std::optional<FlowPlan> Dispatcher::plan_tunnel_stream(const agent::MeshedPod& pod,
                                                       const TunnelRequest& req,
                                                       const std::string& principal) {
  auto plan = plan_tunnel_inbound(*view_, pod, req, principal);
  if (plan && !plan->denied.empty()) {
    context_.metrics.denied(plan->labels, plan->denied);
    log::info("flow.denied", "worker={} src={} dst={} target={} reason={}", index(), principal,
              plan->labels.destination.principal, req.target.str(), plan->denied);
    observe_denied(plan->labels, plan->client_ip, plan->target, plan->denied);
  }
  return plan;
}

uint64_t Dispatcher::identity_generation(const std::string& principal) const {
  auto it = view_->identities.find(principal);
  return it == view_->identities.end() ? 0 : it->second->generation;
}

void Dispatcher::tunnel_unusable(TunnelSession& session) {
  if (session.role() != agent::TunnelRole::Client) {
    return;
  }
  tunnel_pool_.remove(session.key(), &session);
}

void Dispatcher::store_ticket(const TunnelKey& key, identity::SslSessionPtr ticket) {
  tickets_.store(key, std::move(ticket));
}

void Dispatcher::session_finished(TunnelSession& session) {
  tunnel_unusable(session);
  tunnels_.erase(&session);
  object_gone();
}

std::optional<SourceShare> Dispatcher::take_share(const SourceKey& source,
                                                  const agent::WorkloadIdentity& who) {
  auto share = context_.shares.take(source);
  if (!share) {
    source_refused(who, "source_limit");
  }
  return share;
}

void Dispatcher::source_refused(const agent::WorkloadIdentity& source, std::string_view reason) {
  context_.metrics.refused_for_source(source, reason);
  if (!std::exchange(share_warned_, true)) {
    log::warn("flow.source_limit",
              "worker={} source={}/{} principal={} reason={} connections={} head_bytes={} "
              "(refused: this source holds its share of the node; --max-connections-per-source, "
              "--max-header-bytes-per-source)",
              index(), source.ns, source.workload, source.principal, reason,
              context_.shares.limit(), context_.shares.head_bytes());
  }
}

void Dispatcher::peer_unreachable(const IpAddr& destination) {
  suspects_.avoid(destination, loop_.now());
}

void Dispatcher::peer_reachable(const IpAddr& destination) {
  suspects_.answered(destination);
}

void Dispatcher::object_gone() {
  if (drain_deadline_) {
    check_drained();
  }
}

void Dispatcher::out_of_fds(agent::FdOperation operation, const std::string& detail) {
  context_.fd_metrics.exhausted(operation);
  if (!fd_warned_) {
    fd_warned_ = true;
    log::warn("worker.out_of_fds",
              "worker={} error=\"{}\" (counted in weft_fd_exhaustion_total; "
              "see README, Limits)",
              index(), detail);
  }
}

void Dispatcher::tick(Loop::Clock::time_point now) {
  fd_warned_ = false;
  share_warned_ = false;
  if (drain_deadline_) {
    check_drained();  // tunnel streams end inside their sessions, unseen here
  }
  for (Listener* l : std::exchange(paused_, {})) {
    arm_accept(*l);
  }
  for (TunnelSession* s : keys_of(tunnels_)) {
    if (tunnels_.contains(s)) {  // an earlier tick may have finished it
      s->tick(now);
    }
  }
  upstreams_.tick(now);
  for (auto& [ptr, http] : http_) {
    if (auto fired = http->expire(now, context_.limits)) {
      loop_.timed_out(*fired);  // the connection closes after this batch
    }
  }
  const TimeLimits& limits = context_.limits;
  std::vector<Relay*> stalled;
  std::vector<Relay*> idle;
  for (auto& [ptr, relay] : relays_) {
    if (limits.stall.count() > 0 && relay->stalled_since(now - limits.stall)) {
      stalled.push_back(ptr);
    } else if (limits.tcp_idle.count() > 0 && relay->idle_since(now - limits.tcp_idle)) {
      idle.push_back(ptr);
    }
  }
  for (Relay* relay : stalled) {
    relay->reset_stalled();  // may destroy it
  }
  for (Relay* relay : idle) {
    loop_.timed_out(agent::Timeout::TcpIdle);
    relay->end();  // FIN both ways
  }
  tickets_.expire(static_cast<long>(std::time(nullptr)));
  suspects_.forget(now);
  balancer_.forget_refusals(now);
  std::size_t erased = loop_.take_erased();
  erased_since_trim_ += erased;
  if (erased_since_trim_ >= kTrimAfter && (erased == 0 || now - last_trim_ >= kTrimSpacing)) {
    // The allocator keeps freed memory for reuse; once a wave of connections or requests is
    // over (a tick that erased nothing), the agent's RSS goes back down to what its open
    // connections use. Under steady load, at most every kTrimSpacing.
    return_freed_memory();
    erased_since_trim_ = 0;
    last_trim_ = now;
  }
}

Result<Fd> Dispatcher::open_upstream(const agent::MeshedPod& pod, sa_family_t family,
                                     const std::optional<IpAddr>& transparent_source) {
  bool transparent = transparent_source && transparent_source->family == family;
  return pod.netns.run(home_, [&]() -> Result<Fd> {
    Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
      auto error = fail_errno("socket in pod netns");
      if (agent::fd_exhausted(error.error())) {
        out_of_fds(agent::FdOperation::Upstream, error.error().message);
      }
      return error;
    }
    uint32_t mark = context_.socket_mark | (transparent ? WEFT_DELIVERY_MARK_BIT : 0);
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
      return fail_errno("setsockopt SO_MARK");
    }
    if (!transparent) {
      return fd;
    }
    int one = 1;
    bool v4 = family == AF_INET;
    if (::setsockopt(fd.get(), v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TRANSPARENT : IPV6_TRANSPARENT, &one,
                     sizeof(one)) != 0 ||
        ::setsockopt(fd.get(), SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) != 0) {
      return fail_errno("setsockopt IP_TRANSPARENT");
    }
    sockaddr_storage ss{};
    socklen_t len = SockAddr{*transparent_source, 0}.to_sockaddr(ss);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return fail_errno("bind to the client's address " + transparent_source->str());
    }
    return fd;
  });
}

void Dispatcher::launch(const agent::MeshedPod& pod, Fd downstream, SourceShare share,
                        FlowPlan plan, std::span<const uint8_t> received,
                        std::optional<Redial> redial) {
  // Outbound relays connect from the source pod (client_ip is empty); inbound ones deliver as
  // the client.
  auto upstream = open_upstream(pod, plan.target.ip.family, plan.client_ip);
  if (!upstream) {
    log::error("flow.rejected", "worker={} pod={} reason=\"{}\"", index(), pod.display_name(),
               upstream.error().message);
    return reset(std::move(downstream));
  }
  auto counters = counters_for(plan);
  SockAddr target = plan.target;
  auto relay = std::make_unique<Relay>(loop_, *this, std::move(downstream), std::move(*upstream),
                                       std::move(plan), std::move(counters), std::move(share),
                                       std::move(redial));
  Relay& ref = *relay;
  if (ref.plan().labels.reporter == "source" && !pod.ips.empty()) {
    ref.observe_client(pod.ips.front());  // the calling pod
  }
  relays_.emplace(relay.get(), std::move(relay));
  balancer_.opened(target);
  ref.preload(received);
  ref.start(static_cast<unsigned>(context_.limits.connect.count()));
}

void Dispatcher::relay_finished(Relay& relay) {
  balancer_.closed(relay.plan().target);
  relays_.erase(&relay);
  object_gone();
}

void Dispatcher::http_finished(AppHttp& http) {
  http_.erase(&http);
  object_gone();
}

void Dispatcher::hand_over_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                                    SourceShare share, const SockAddr& original,
                                    std::span<const uint8_t> received) {
  dispatch_outbound(std::move(pod), std::move(socket), std::move(share), original,
                    l7::Protocol::Opaque, received);
}

void Dispatcher::hand_over_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                                   SourceShare share, const SockAddr& peer, const SockAddr& local,
                                   std::span<const uint8_t> received) {
  dispatch_inbound(std::move(pod), std::move(socket), std::move(share), peer, local,
                   l7::Protocol::Opaque, received);
}

}  // namespace weft::proxy
