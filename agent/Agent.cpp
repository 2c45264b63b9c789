#include "agent/Agent.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <nlohmann/json.hpp>

#include <set>

#include "agent/discovery/ManifestDir.hpp"
#include "agent/identity/LocalIssuer.hpp"
#include "agent/kube/DiscoveryMetrics.hpp"
#include "agent/loop/FreedMemory.hpp"
#include "agent/metrics/BuildInfo.hpp"
#include "agent/netns/DeliveryRoute.hpp"
#include "agent/netns/InPodSockets.hpp"
#include "agent/pods/StateFile.hpp"
#include "agent/policy/Authorization.hpp"
#include "common/Log.hpp"

namespace weft::agent {
namespace {

/// Ports listed in a pod annotation such as weft.io/exclude-outbound-ports: "5432,6379". A
/// malformed annotation is logged and ignored: it must not stop the pod from being meshed.
void add_annotated_ports(const discovery::PodInfo* pod, const char* key,
                         std::vector<uint16_t>& out) {
  if (pod == nullptr) {
    return;
  }
  auto it = pod->annotations.find(key);
  if (it == pod->annotations.end()) {
    return;
  }
  auto ports = parse_port_list(it->second, key);
  if (ports && out.size() + ports->size() > WEFT_MAX_EXCLUDED_PORTS) {
    ports = fail(Error::Kind::Config,
                 fmt::format("{}: {} ports with the node's {}, at most {} are supported", key,
                             ports->size(), out.size(), WEFT_MAX_EXCLUDED_PORTS));
  }
  if (!ports) {
    log::warn("pod.annotation_ignored", "pod={}/{} reason=\"{}\"", pod->ns, pod->name,
              ports.error().message);
    return;
  }
  out.insert(out.end(), ports->begin(), ports->end());
}

std::vector<IpAddr> parse_ips(const std::vector<std::string>& cidrs) {
  std::vector<IpAddr> ips;
  for (const auto& text : cidrs) {
    if (auto cidr = Cidr::parse(text)) {
      ips.push_back(cidr->base);
    }
  }
  return ips;
}

Result<Fd> block_signals_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  Fd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) {
    return fail_errno("signalfd");
  }
  return fd;
}

proxy::TimeLimits time_limits(const Config& c) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  return {milliseconds(c.connect_timeout_ms),       milliseconds(c.request_header_timeout_ms),
          seconds(c.http_idle_timeout_seconds),     seconds(c.tcp_idle_timeout_seconds),
          milliseconds(c.tls_handshake_timeout_ms), seconds(c.tunnel_idle_timeout_seconds),
          milliseconds(c.tunnel_ping_interval_ms),  milliseconds(c.tunnel_ping_timeout_ms),
          seconds(c.stall_timeout_seconds)};
}

TapLimits tap_limits(const Config& c) {
  TapLimits limits;
  limits.max_sessions = c.tap_max_sessions;
  limits.max_events_per_second = c.tap_max_events_per_second;
  limits.session_events_per_second = c.tap_session_events_per_second;
  limits.redacted_headers = c.tap_redact_headers;
  return limits;
}

}  // namespace

Agent::Agent(Config config) : config_(std::move(config)) {}

Agent::~Agent() {
  tap_tls_.reset();
  admin_.reset();
  for (auto& w : workers_) {
    w->stop();
  }
  workers_.clear();
}

Result<std::unique_ptr<Agent>> Agent::create(Config config) {
  std::unique_ptr<Agent> agent(new Agent(std::move(config)));
  if (auto ok = agent->init(); !ok) {
    return std::unexpected(ok.error());
  }
  return agent;
}

Result<void> Agent::init() {
  auto signals = block_signals_fd();
  if (!signals) {
    return std::unexpected(signals.error());
  }
  signals_ = std::move(*signals);
  create_metrics();
  if (auto ok = load_identity(); !ok) {
    return ok;
  }
  auto home = Netns::current();
  if (!home) {
    return std::unexpected(home.error());
  }
  home_ = std::make_unique<Netns>(std::move(*home));
  for (auto step : {&Agent::open_redirector, &Agent::open_discovery, &Agent::start_workers,
                    &Agent::open_admin, &Agent::wait_for_discovery}) {
    if (auto ok = (this->*step)(); !ok) {
      return ok;
    }
  }
  // The socket first: a predecessor hands over its last registrations and the state file
  // before the pods are read from it.
  if (auto ok = open_registration(); !ok) {
    return ok;
  }
  restore_pods();
  ready_ = true;
  log::info("agent.ready", "node={} workers={} admin={} registration={} pods={}", config_.node_name,
            workers_.size(), config_.admin_address, config_.registration_socket, pods_.size());
  return {};
}

void Agent::create_metrics() {
  registry_ = std::make_shared<prometheus::Registry>();
  tcp_metrics_ = std::make_unique<TcpMetrics>(*registry_);
  timeout_metrics_ = std::make_unique<TimeoutMetrics>(*registry_);
  tunnel_metrics_ = std::make_unique<TunnelMetrics>(*registry_);
  request_metrics_ = std::make_unique<RequestMetrics>(*registry_);
  tap_ = std::make_unique<TapHub>(config_.node_name, tap_limits(config_), *registry_);
  flows_ = std::make_unique<FlowLog>(config_.node_name, config_.observe_buffer_entries);
  fd_metrics_ = std::make_unique<FdMetrics>(*registry_);
}

Result<void> Agent::load_identity() {
  auto trust = identity::TrustBundle::load(config_.trust_anchor_file);
  if (!trust) {
    Error e = trust.error();
    e.message += "; a new mesh gets its trust anchor and issuer from `weftctl ca create --dir DIR`";
    return std::unexpected(e);
  }
  trust_ = std::make_unique<identity::TrustBundle>(std::move(*trust));
  auto issuer =
      identity::LocalIssuer::load(config_.issuer_cert_file, config_.issuer_key_file, *trust_);
  if (!issuer) {
    return std::unexpected(issuer.error());
  }
  auto certificates = identity::WorkloadCertificates::create(
      std::move(*issuer), std::chrono::seconds(config_.cert_lifetime_seconds), *registry_);
  if (!certificates) {
    return std::unexpected(certificates.error());
  }
  certificates_ = std::move(*certificates);
  return {};
}

Result<void> Agent::open_redirector() {
  redirect::Options opts;
  opts.bpffs_dir = config_.bpffs_dir;
  opts.mount_bpffs = config_.bpffs_mount;
  opts.cgroup_root = config_.cgroup_root;
  opts.socket_mark = config_.socket_mark;
  opts.exclude_outbound_cidrs = config_.exclude_outbound_cidrs;
  auto redirector = redirect::Redirector::open(opts);
  if (!redirector) {
    return std::unexpected(redirector.error());
  }
  redirector_ = std::make_unique<redirect::Redirector>(std::move(*redirector));
  return {};
}

Result<void> Agent::open_discovery() {
  if (config_.discovery == "kubernetes") {
    auto api = config_.kubeconfig.empty() ? kube::in_cluster_config(kube::service_environment())
                                          : kube::kubeconfig_config(config_.kubeconfig);
    if (!api) {
      return std::unexpected(api.error());
    }
    kube::KubeOptions options{config_.node_name,
                              std::chrono::seconds(config_.kube_watch_timeout_seconds),
                              config_.random_seed.value_or(std::random_device{}())};
    auto source = kube::KubeSource::start(std::move(*api), std::move(options));
    if (!source) {
      return std::unexpected(source.error());
    }
    kube_ = source->get();
    discovery_ = std::move(*source);
    return {};
  }
  auto manifests = discovery::ManifestDir::open(config_.manifests_dir);
  if (!manifests) {
    return std::unexpected(manifests.error());
  }
  discovery_ = std::make_unique<discovery::ManifestDir>(std::move(*manifests));
  return {};
}

Result<void> Agent::wait_for_discovery() {
  auto started = std::chrono::steady_clock::now();
  auto last_log = started;
  while (!discovery_->synced()) {
    pollfd fds[] = {{signals_.get(), POLLIN, 0}, {discovery_->fd(), POLLIN, 0}};
    int n = ::poll(fds, std::size(fds), 1000);
    if (n < 0 && errno != EINTR) {
      return fail_errno("poll");
    }
    if (fds[0].revents != 0) {
      return fail(Error::Kind::Timeout, "stopped by a signal while waiting for discovery");
    }
    if (fds[1].revents != 0) {
      discovery_->process_events();
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_log >= std::chrono::seconds(10)) {
      last_log = now;
      auto waiting = kube_ != nullptr ? kube_->unsynced() : std::vector<std::string_view>{};
      if (waiting.empty()) {
        continue;  // the last one was listed in this round
      }
      log::warn("discovery.waiting", "seconds={} not_listed={}",
                std::chrono::duration_cast<std::chrono::seconds>(now - started).count(),
                fmt::join(waiting, ","));
    }
  }
  discovery_->process_events();
  publish_view();
  return {};
}

Result<void> Agent::start_workers() {
  auto view = std::make_shared<proxy::NodeView>();
  view->world = discovery_->world();
  view->trust_domain = config_.trust_domain;
  unsigned per_source = config_.max_connections_per_source;
  if (per_source == 0) {
    rlimit fds{};
    ::getrlimit(RLIMIT_NOFILE, &fds);
    per_source = static_cast<unsigned>(std::max<rlim_t>(fds.rlim_cur / 8, 1));
  }
  source_shares_ =
      std::make_unique<proxy::SourceShares>(per_source, config_.max_header_bytes_per_source);
  log::info("agent.source_limit", "connections_per_source={} header_bytes_per_source={}",
            per_source, config_.max_header_bytes_per_source);
  proxy::WorkerContext ctx{*redirector_,
                           *tcp_metrics_,
                           *tunnel_metrics_,
                           *request_metrics_,
                           *tap_,
                           *flows_,
                           *fd_metrics_,
                           *timeout_metrics_,
                           *source_shares_,
                           time_limits(config_),
                           config_.socket_mark,
                           config_.protocol_detection_timeout_ms,
                           config_.random_seed};
  for (unsigned i = 0; i < config_.workers; ++i) {
    auto worker = proxy::Worker::create(i, ctx, view);
    if (!worker) {
      return std::unexpected(worker.error());
    }
    (*worker)->start();
    workers_.push_back(std::move(*worker));
  }
  return {};
}

Result<void> Agent::open_admin() {
  auto admin =
      AdminServer::start(config_.admin_address,
                         AdminSources{[this] { return collect_metrics(); },
                                      [this] { return ready_.load() && discovery_->synced(); },
                                      [this] { return pods_json(); }, tap_.get(), flows_.get()});
  if (!admin) {
    return std::unexpected(admin.error());
  }
  admin_ = std::move(*admin);
  if (!config_.tap_tls_address.empty()) {
    auto tls = TapTlsListener::start(config_.tap_tls_address, config_.tap_allow, *tap_, *flows_,
                                     trust_->store(), [this] {
                                       std::lock_guard lock(tap_credential_mutex_);
                                       return tap_credential_;
                                     });
    if (!tls) {
      return std::unexpected(tls.error());
    }
    tap_tls_ = std::move(*tls);
  }
  return {};
}

Result<void> Agent::run() {
  for (;;) {
    pollfd fds[] = {{signals_.get(), POLLIN, 0},
                    {registration_ ? registration_->fd() : -1, POLLIN, 0},
                    {discovery_->fd(), POLLIN, 0},
                    {certificates_->fd(), POLLIN, 0}};
    int timeout_ms = -1;
    if (purge_at_) {
      auto wait = *purge_at_ - std::chrono::steady_clock::now();
      timeout_ms = static_cast<int>(
          std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    }
    int n = ::poll(fds, std::size(fds), timeout_ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail_errno("poll");
    }
    if (purge_at_ && std::chrono::steady_clock::now() >= *purge_at_) {
      purge_at_.reset();
      proxy::return_freed_memory();
    }
    if (fds[0].revents != 0) {
      signalfd_siginfo info{};
      [[maybe_unused]] ssize_t r = ::read(signals_.get(), &info, sizeof(info));
      log::info("agent.stopping", "signal={} pods={} handed_over={} drain_seconds={}",
                info.ssi_signo, pods_.size(), handed_over_, config_.drain_seconds);
      drain();
      return {};
    }
    if (fds[1].revents != 0) {
      auto served =
          registration_->serve_one([this](const PodRegistration& reg) { return handle(reg); });
      if (!served && fd_exhausted(served.error())) {
        fd_metrics_->exhausted(FdOperation::PodMesh);
      }
      if (handed_over_) {
        registration_.reset();  // the path is the successor's; our socket file is gone
      }
    }
    if (fds[2].revents != 0 && discovery_->process_events()) {
      on_discovery_changed();
    }
    if (fds[3].revents != 0 && certificates_->on_timer()) {
      publish_view();  // renewed certificates reach the workers; open sessions keep theirs
    }
  }
}

RegistrationReply Agent::handle(const PodRegistration& reg) {
  switch (reg.op) {
    case PodRegistration::Op::Add: {
      auto out = opted_out(reg);
      if (!out) {
        log::warn("pod.mesh_deferred", "container={} pod={}/{} reason=\"{}\"", reg.container_id,
                  reg.pod_namespace, reg.pod_name, out.error().message);
        return {false, out.error().message};
      }
      if (*out) {
        log::info("pod.opted_out", "container={} pod={}/{} {}={}", reg.container_id,
                  reg.pod_namespace, reg.pod_name, kMeshAnnotation, kMeshDisabled);
        return {true, {}};
      }
      if (auto ok = mesh(reg); !ok) {
        if (fd_exhausted(ok.error())) {
          fd_metrics_->exhausted(FdOperation::PodMesh);
        }
        log::error("pod.mesh_failed", "container={} pod={}/{} error=\"{}\"", reg.container_id,
                   reg.pod_namespace, reg.pod_name, ok.error().message);
        return {false, ok.error().message};
      }
      return {true, {}};
    }
    case PodRegistration::Op::Del:
      unmesh(reg.container_id);
      return {true, {}};
    case PodRegistration::Op::Check:
      if (is_meshed(reg) || opted_out(reg).value_or(false)) {
        return {true, {}};
      }
      return {false, "pod " + reg.container_id + " is not meshed by this agent"};
    case PodRegistration::Op::Handover:
      return hand_over();
  }
  return {false, "unknown op"};
}

Result<bool> Agent::opted_out(const PodRegistration& reg) const {
  auto world = discovery_->world();
  const discovery::PodInfo* pod = world->pod_by_name(reg.pod_namespace, reg.pod_name);
  if (pod == nullptr || pod->synthesized) {
    if (kube_ != nullptr) {
      // The kubelet sets a sandbox up only for a pod bound to this node, which this agent's
      // watch of the node's pods is about to see: the runtime retries ADD.
      return fail(Error::Kind::NotFound,
                  fmt::format("pod {}/{} is not known from the API server yet; retry",
                              reg.pod_namespace, reg.pod_name));
    }
    return false;  // no Pod object in the manifests: meshed, as always
  }
  auto it = pod->annotations.find(kMeshAnnotation);
  return it != pod->annotations.end() && it->second == kMeshDisabled;
}

bool Agent::is_meshed(const PodRegistration& reg) const {
  std::lock_guard lock(pods_mutex_);
  auto it = pods_.find(reg.container_id);
  if (it == pods_.end()) {
    return false;
  }
  auto cookies = redirector_->pod_cookies();
  return std::find(cookies.begin(), cookies.end(), it->second->netns_cookie) != cookies.end();
}

Result<void> Agent::mesh(const PodRegistration& reg) {
  if (auto it = pods_.find(reg.container_id); it != pods_.end()) {
    if (it->second->registration.netns == reg.netns) {
      return {};  // a runtime retrying ADD: already done
    }
    unmesh(reg.container_id);
  }
  auto opened = open_pod(reg);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  auto listeners = serve_pod(std::move(*opened));
  if (!listeners) {
    return std::unexpected(listeners.error());
  }
  publish_view();
  start_listeners(std::move(*listeners));
  pods_changed();
  return {};
}

Result<Agent::OpenedPod> Agent::open_pod(const PodRegistration& reg) {
  auto netns = Netns::open(reg.netns);
  if (!netns) {
    return std::unexpected(netns.error());
  }
  struct Opened {
    uint64_t cookie = 0;
    std::vector<proxy::PodListeners> listeners;
  };
  // Everything that must be created inside the pod happens in one visit to its netns.
  auto opened = netns->run(*home_, [&]() -> Result<Opened> {
    Opened out;
    if (auto ok = ensure_loopback_up(); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = enable_listener_migration(config_.proc_dir); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok =
            install_delivery_route(config_.socket_mark | WEFT_DELIVERY_MARK_BIT, config_.proc_dir);
        !ok) {
      return std::unexpected(ok.error());
    }
    const auto loop4 = SockAddr{*IpAddr::parse("127.0.0.1"), WEFT_OUTBOUND_PORT};
    const auto loop6 = SockAddr{*IpAddr::parse("::1"), WEFT_OUTBOUND_PORT};
    const auto any4 = SockAddr{*IpAddr::parse("0.0.0.0"), WEFT_INBOUND_PORT};
    const auto tunnel4 = SockAddr{*IpAddr::parse("0.0.0.0"), WEFT_TUNNEL_PORT};
    bool has_v6 = true;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      proxy::PodListeners l;
      auto out4 = listen_tcp(loop4);
      auto in4 = listen_tcp(any4);
      auto tun4 = listen_tcp(tunnel4);
      if (!out4 || !in4 || !tun4) {
        return std::unexpected(!out4 ? out4.error() : !in4 ? in4.error() : tun4.error());
      }
      if (i == 0) {
        // Every socket created here is in the pod's netns: the first one names it for BPF.
        auto cookie = redirect::netns_cookie_of_socket(out4->get());
        if (!cookie) {
          return std::unexpected(cookie.error());
        }
        out.cookie = *cookie;
      }
      l.outbound_v4 = std::move(*out4);
      l.inbound = std::move(*in4);
      l.tunnel = std::move(*tun4);
      if (has_v6) {
        // A pod without IPv6 (disabled by sysctl) has no ::1; IPv4 redirection still works.
        auto out6 = listen_tcp(loop6);
        has_v6 = out6.has_value();
        if (out6) {
          l.outbound_v6 = std::move(*out6);
        }
      }
      out.listeners.push_back(std::move(l));
    }
    auto ifindex = interface_index(reg.ifname);
    if (!ifindex) {
      return std::unexpected(ifindex.error());
    }
    if (auto ok = redirector_->attach_inbound(static_cast<int>(*ifindex)); !ok) {
      return std::unexpected(ok.error());
    }
    return out;
  });
  if (!opened) {
    return std::unexpected(opened.error());
  }
  auto pod = std::make_shared<MeshedPod>(
      MeshedPod{next_pod_id_++, reg, parse_ips(reg.ips), std::move(*netns), opened->cookie});
  return OpenedPod{std::move(pod), std::move(opened->listeners)};
}

Result<std::vector<proxy::PodListeners>> Agent::serve_pod(OpenedPod opened) {
  std::shared_ptr<const MeshedPod> pod = std::move(opened.pod);
  // Redirection starts only now, when the listeners already queue connections: no connect from
  // the pod can land on a port nobody listens on.
  if (auto ok = redirector_->add_pod(pod->netns_cookie, pod_config_for(*pod)); !ok) {
    return std::unexpected(ok.error());
  }
  const std::string& id = pod->registration.container_id;
  {
    std::lock_guard lock(pods_mutex_);
    pods_[id] = pod;
  }
  unrestored_.erase(id);
  for (proxy::PodListeners& l : opened.listeners) {
    l.pod = pod;
  }
  log::info("pod.meshed", "pod={} container={} netns={} ips={} cookie={}", pod->display_name(), id,
            pod->registration.netns, fmt::join(pod->registration.ips, ","), pod->netns_cookie);
  return std::move(opened.listeners);
}

void Agent::start_listeners(std::vector<proxy::PodListeners> listeners) {
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->post(proxy::AddPod{std::move(listeners[i])});
  }
}

void Agent::unmesh(const std::string& container_id) {
  std::shared_ptr<const MeshedPod> pod;
  if (auto left = unrestored_.find(container_id); left != unrestored_.end()) {
    [[maybe_unused]] auto ok = redirector_->remove_pod(left->second.netns_cookie);
    unrestored_.erase(left);
    pods_changed();
    log::info("pod.unmeshed", "container={} (it had not been restored)", container_id);
    return;
  }
  {
    std::lock_guard lock(pods_mutex_);
    auto it = pods_.find(container_id);
    if (it == pods_.end()) {
      log::debug("pod.unmesh_unknown", "container={}", container_id);
      return;
    }
    pod = it->second;
    pods_.erase(it);
  }
  if (auto ok = redirector_->remove_pod(pod->netns_cookie); !ok) {
    log::warn("pod.unmesh_bpf", "pod={} error=\"{}\"", pod->display_name(), ok.error().message);
  }
  for (auto& w : workers_) {
    w->post(proxy::RemovePod{pod->id});
  }
  publish_view();
  pods_changed();
  log::info("pod.unmeshed", "pod={} container={}", pod->display_name(), container_id);
}

redirect::PodConfig Agent::pod_config_for(const MeshedPod& pod) const {
  redirect::PodConfig cfg;
  cfg.pod_id = pod.id;
  cfg.excluded_outbound_ports = config_.exclude_outbound_ports;
  cfg.excluded_inbound_ports = config_.exclude_inbound_ports;
  auto world = discovery_->world();
  const discovery::PodInfo* info = world ? world->pod_by_name(pod.ns(), pod.name()) : nullptr;
  add_annotated_ports(info, "weft.io/exclude-outbound-ports", cfg.excluded_outbound_ports);
  add_annotated_ports(info, "weft.io/exclude-inbound-ports", cfg.excluded_inbound_ports);
  // What tc does with plaintext while no agent runs: what this policy does with a plaintext
  // client (an empty principal), whoever it is.
  cfg.plaintext_open = !world || policy::authorize(*world, info, policy::Source{}).allowed();
  return cfg;
}

void Agent::on_discovery_changed() {
  // Exclusions from pod annotations and policies may have changed. The pinned map goes first:
  // tc's fail-closed mode for a pod must never be wider than the policy the workers enforce,
  // even if the agent dies between the two steps. After a hand-over the map is the
  // successor's: it writes the same from the same World, and only it knows which pods left.
  for (const auto& [id, pod] : pods_) {
    if (handed_over_) {
      break;
    }
    if (auto ok = redirector_->add_pod(pod->netns_cookie, pod_config_for(*pod)); !ok) {
      log::warn("pod.config_update_failed", "pod={} error=\"{}\"", pod->display_name(),
                ok.error().message);
    }
  }
  publish_view();
}

void Agent::publish_view() {
  if (!purge_at_) {
    purge_at_ = std::chrono::steady_clock::now() + kPurgeAfterPublish;
  }
  auto view = std::make_shared<proxy::NodeView>();
  view->world = discovery_->world();
  view->trust_domain = config_.trust_domain;
  for (const auto& [id, pod] : pods_) {
    for (const auto& ip : pod->ips) {
      view->local_pods[ip] = pod;
    }
  }
  view->identities = sync_identities();
  {
    std::map<std::string, WorkloadIdentity> identities;
    for (const auto& [id, pod] : pods_) {
      const discovery::PodInfo* info =
          view->world ? view->world->pod_by_name(pod->ns(), pod->name()) : nullptr;
      identities.emplace(id, identity_of(info, pod->name(), pod->ns(), config_.trust_domain));
    }
    std::lock_guard lock(pods_mutex_);
    pod_identities_ = std::move(identities);
  }
  for (auto& w : workers_) {
    w->post(proxy::UpdateView{view});
  }
}

std::unordered_map<std::string, std::shared_ptr<const tunnel::TlsIdentity>>
Agent::sync_identities() {
  auto world = discovery_->world();
  std::set<std::string> wanted;
  for (const auto& [id, pod] : pods_) {
    const discovery::PodInfo* info = world ? world->pod_by_name(pod->ns(), pod->name()) : nullptr;
    wanted.insert(identity_of(info, pod->name(), pod->ns(), config_.trust_domain).principal);
  }
  if (!config_.tap_tls_address.empty()) {
    wanted.insert(tap_principal());
  }
  certificates_->sync(wanted);
  if (!config_.tap_tls_address.empty()) {
    auto own = certificates_->current().find(tap_principal());
    std::lock_guard lock(tap_credential_mutex_);
    tap_credential_ = own != certificates_->current().end() ? own->second : nullptr;
  }
  std::unordered_map<std::string, std::shared_ptr<const tunnel::TlsIdentity>> out;
  for (const auto& [principal, cred] : certificates_->current()) {
    auto cached = tls_identities_.find(principal);
    if (cached != tls_identities_.end() && cached->second->generation == cred->generation) {
      out.emplace(principal, cached->second);
      continue;
    }
    std::vector<X509*> chain;
    for (const auto& cert : cred->chain) {
      chain.push_back(cert.get());
    }
    // Resumed sessions skip the certificate check: they must not outlive the certificate.
    auto lifetime =
        std::chrono::duration_cast<std::chrono::seconds>(cred->not_after - cred->not_before) / 2;
    auto tls = tunnel::TlsIdentity::create(principal, cred->generation, cred->key.get(), chain,
                                           trust_->store(), lifetime);
    if (!tls) {
      log::error("identity.tls_failed", "principal={} error=\"{}\"", principal,
                 tls.error().message);
      continue;
    }
    out.emplace(principal, *tls);
  }
  tls_identities_ = out;
  return out;
}

void Agent::pods_changed() {
  if (handed_over_) {
    return;  // the state file and the marks are the successor's
  }
  persist();
  if (kube_ != nullptr) {
    std::set<std::string> meshed;
    for (const auto& [id, pod] : pods_) {
      meshed.insert(fmt::format("{}/{}", pod->ns(), pod->name()));
    }
    kube_->set_meshed(std::move(meshed));
  }
}

void Agent::persist() {
  std::vector<PodRegistration> regs;
  for (const auto& [id, pod] : pods_) {
    regs.push_back(pod->registration);
  }
  for (const auto& [id, left] : unrestored_) {
    regs.push_back(left.registration);
  }
  if (auto ok = save_state(config_.state_file, regs); !ok) {
    log::error("state.write_failed", "file={} error=\"{}\"", config_.state_file,
               ok.error().message);
  }
}

std::vector<prometheus::MetricFamily> Agent::collect_metrics() const {
  auto families = registry_->Collect();
  if (kube_ != nullptr) {
    for (auto& family : kube::discovery_metrics(*kube_)) {
      families.push_back(std::move(family));
    }
  }
  prometheus::MetricFamily events;
  events.name = "weft_redirect_events_total";
  events.help = "Decisions of weft's eBPF hooks, by reason";
  events.type = prometheus::MetricType::Counter;
  auto stats = redirector_->stats();
  for (int i = 0; i < WEFT_STAT__COUNT; ++i) {
    prometheus::ClientMetric m;
    m.label.push_back({"reason", std::string(redirect::Redirector::stat_name(i))});
    m.counter.value = static_cast<double>(stats[static_cast<std::size_t>(i)]);
    events.metric.push_back(std::move(m));
  }
  families.push_back(std::move(events));
  prometheus::MetricFamily pods;
  pods.name = "weft_meshed_pods";
  pods.help = "Pods this agent meshes";
  pods.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric count;
  {
    std::lock_guard lock(pods_mutex_);
    count.gauge.value = static_cast<double>(pods_.size());
  }
  pods.metric.push_back(std::move(count));
  families.push_back(std::move(pods));
  families.push_back(workload_pods_family());
  for (auto& family : FdMetrics::collect()) {
    families.push_back(std::move(family));
  }
  for (auto& family : build_info_metrics()) {
    families.push_back(std::move(family));
  }
  return families;
}

prometheus::MetricFamily Agent::workload_pods_family() const {
  prometheus::MetricFamily family;
  family.name = "weft_workload_pods";
  family.help = "Pods this agent meshes, by workload (weftctl stat's MESHED)";
  family.type = prometheus::MetricType::Gauge;
  std::map<std::pair<std::string, std::string>, unsigned> counts;
  {
    std::lock_guard lock(pods_mutex_);
    for (const auto& [id, identity] : pod_identities_) {
      if (pods_.contains(id)) {
        ++counts[{identity.ns, identity.workload}];
      }
    }
  }
  for (const auto& [key, n] : counts) {
    prometheus::ClientMetric m;
    m.label = {{"workload_namespace", key.first}, {"workload", key.second}};
    m.gauge.value = n;
    family.metric.push_back(std::move(m));
  }
  return family;
}

std::string Agent::tap_principal() const {
  return !config_.tap_tls_principal.empty()
             ? config_.tap_tls_principal
             : spiffe_id(config_.trust_domain, "weft-system", "weft-agent");
}

std::string Agent::pods_json() const {
  nlohmann::json out = nlohmann::json::array();
  std::lock_guard lock(pods_mutex_);
  for (const auto& [id, pod] : pods_) {
    auto identity = pod_identities_.find(id);
    out.push_back(
        {{"containerId", id},
         {"namespace", pod->ns()},
         {"name", pod->name()},
         {"workload", identity != pod_identities_.end() ? identity->second.workload : ""},
         {"principal", identity != pod_identities_.end() ? identity->second.principal : ""},
         {"ips", pod->registration.ips},
         {"netns", pod->registration.netns},
         {"netnsCookie", pod->netns_cookie}});
  }
  return out.dump() + "\n";
}

}  // namespace weft::agent
