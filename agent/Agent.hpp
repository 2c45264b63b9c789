// The control plane of weft-agent: pods in and out, manifests, the view the workers route by,
// and the admin endpoint. Runs on the main thread; the data plane runs on the workers.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/admin/AdminServer.hpp"
#include "agent/admin/TapTlsListener.hpp"
#include "agent/config/Config.hpp"
#include "agent/discovery/Source.hpp"
#include "agent/dispatch/Worker.hpp"
#include "agent/identity/TrustBundle.hpp"
#include "agent/identity/WorkloadCertificates.hpp"
#include "agent/kube/KubeSource.hpp"
#include "agent/metrics/FdMetrics.hpp"
#include "agent/metrics/RequestMetrics.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/metrics/TimeoutMetrics.hpp"
#include "agent/metrics/TunnelMetrics.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/pods/RegistrationServer.hpp"
#include "agent/redirect/Redirector.hpp"
#include "agent/tap/TapHub.hpp"

namespace weft::agent {

/// The annotation by which a pod opts out of the mesh (`weft.io/mesh: disabled`).
inline constexpr const char* kMeshAnnotation = "weft.io/mesh";
inline constexpr const char* kMeshDisabled = "disabled";

class Agent {
 public:
  /// Loads BPF, starts the workers, restores pods from the state file, opens the sockets.
  static Result<std::unique_ptr<Agent>> create(Config config);
  ~Agent();

  /// Serves until SIGINT/SIGTERM (blocked by main() before any thread starts), then drains:
  /// stops accepting, lets open connections finish for up to --drain-seconds, ends the rest.
  Result<void> run();

 private:
  explicit Agent(Config config);
  Result<void> init();
  // The steps of init(), in its order.
  void create_metrics();
  /// The trust anchor, the issuer and the certificate store it fills.
  Result<void> load_identity();
  /// Loads and attaches the BPF programs (reusing the pinned maps and links of a predecessor).
  Result<void> open_redirector();
  /// The manifest directory or the Kubernetes API server (--discovery).
  Result<void> open_discovery();
  /// One worker per configured core, each started with a view that names no pod yet.
  Result<void> start_workers();
  /// The admin endpoint (/live at once; /ready once init is done and discovery synced).
  Result<void> open_admin();
  /// Waits until discovery has read every kind once (a Kubernetes source lists first): pods are
  /// restored and registered only under a World that has their policies. SIGINT/SIGTERM end it.
  Result<void> wait_for_discovery();
  /// The registration socket (CNI), put in place of the one at its path; the agent serving
  /// that one, if any, hands the node over (ARCHITECTURE.md, "Hand-over"). Registrations queue
  /// until run() serves them. (AgentHandOver.cpp, with the two below.)
  Result<void> open_registration();
  /// A successor asked for the node (Op::Handover): answers what is queued, then leaves the
  /// state file, weft_pods and the pods' marks to it.
  RegistrationReply hand_over();
  /// After SIGTERM: workers drain; returns when they are drained or the period is over (a
  /// second signal cuts it short).
  void drain();

  RegistrationReply handle(const PodRegistration& reg);
  Result<void> mesh(const PodRegistration& reg);
  /// A pod's listeners, opened inside its netns (with its loopback, delivery route and tc
  /// filter), not served yet: connections queue on them.
  struct OpenedPod {
    std::shared_ptr<MeshedPod> pod;
    std::vector<proxy::PodListeners> listeners;
  };
  Result<OpenedPod> open_pod(const PodRegistration& reg);
  /// Redirects the pod to its listeners (connections queue on them) and adds it to the pod
  /// table; returns the listeners, which the caller starts (start_listeners) once it has
  /// published a view that names the pod: no connection is planned by a view without it, nor
  /// without its certificate.
  Result<std::vector<proxy::PodListeners>> serve_pod(OpenedPod opened);
  /// Hands a pod's listeners to the workers (one each), which start accepting.
  void start_listeners(std::vector<proxy::PodListeners> listeners);
  void unmesh(const std::string& container_id);
  bool is_meshed(const PodRegistration& reg) const;
  /// Whether the pod's object says `weft.io/mesh: disabled`. With the API as source, a pod
  /// whose object the agent has not seen yet is an error (the runtime retries ADD); with
  /// manifests, it is meshed.
  Result<bool> opted_out(const PodRegistration& reg) const;
  redirect::PodConfig pod_config_for(const MeshedPod& pod) const;
  /// Meshes the pods of the state file again (AgentRestore.cpp).
  void restore_pods();
  /// A pod of the state file that could not be meshed again: kept fail closed while its netns
  /// (`cookie`) exists, else dropped.
  void not_restored(const PodRegistration& reg, const Result<uint64_t>& cookie, const Error& error);
  void on_discovery_changed();
  /// After every change of the pod table: the state file, and the pods' redirection annotation
  /// with a Kubernetes source.
  void pods_changed();
  void publish_view();
  /// Certificates for exactly the identities of this node's pods, as TLS contexts.
  std::unordered_map<std::string, std::shared_ptr<const tunnel::TlsIdentity>> sync_identities();
  void persist();
  std::vector<prometheus::MetricFamily> collect_metrics() const;
  std::string pods_json() const;
  /// The SPIFFE ID the agent presents on tap_tls_address.
  std::string tap_principal() const;
  /// weft_workload_pods: pods_ counted by workload.
  prometheus::MetricFamily workload_pods_family() const;

  Config config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<TcpMetrics> tcp_metrics_;
  std::unique_ptr<TimeoutMetrics> timeout_metrics_;
  /// Outlives the workers: their connections give their shares back as they close.
  std::unique_ptr<proxy::SourceShares> source_shares_;
  std::unique_ptr<TunnelMetrics> tunnel_metrics_;
  std::unique_ptr<RequestMetrics> request_metrics_;
  /// Outlives the workers and the admin server, which publish to it and serve its sessions.
  std::unique_ptr<TapHub> tap_;
  /// The flow history; outlives the workers, which write it, and the admin server, which reads it.
  std::unique_ptr<FlowLog> flows_;
  std::unique_ptr<FdMetrics> fd_metrics_;
  std::unique_ptr<identity::TrustBundle> trust_;
  std::unique_ptr<identity::WorkloadCertificates> certificates_;
  /// Built once per (identity, generation); workers get them through the NodeView.
  std::unordered_map<std::string, std::shared_ptr<const tunnel::TlsIdentity>> tls_identities_;
  std::unique_ptr<redirect::Redirector> redirector_;
  std::unique_ptr<discovery::Source> discovery_;
  kube::KubeSource* kube_ = nullptr;  ///< discovery_, when it is the API server
  Fd signals_;                        ///< SIGINT/SIGTERM, blocked by main()
  std::unique_ptr<Netns> home_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::unique_ptr<RegistrationServer> registration_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<TapTlsListener> tap_tls_;  ///< with tap_tls_address
  /// The agent's own credential for tap_tls_, as of the last sync (tap_tls_'s threads read it).
  mutable std::mutex tap_credential_mutex_;
  std::shared_ptr<const identity::Credential> tap_credential_;
  mutable std::mutex pods_mutex_;                                 // pods_ is read by admin threads
  std::map<std::string, std::shared_ptr<const MeshedPod>> pods_;  ///< by container id
  /// Who each pod of pods_ runs as, by container id, as of the last published view (pods_mutex_).
  std::map<std::string, WorkloadIdentity> pod_identities_;
  /// Pods of the state file whose netns still exists but that could not be meshed again at
  /// start: they stay in weft_pods (their traffic fails closed instead of bypassing the mesh)
  /// and in the state file, until an ADD meshes them or a DEL removes them. By container id.
  struct Unrestored {
    PodRegistration registration;
    uint64_t netns_cookie = 0;
  };
  std::map<std::string, Unrestored> unrestored_;
  uint32_t next_pod_id_ = 1;
  std::atomic<bool> ready_{false};
  /// A successor owns the node's pods now: this agent only carries the connections it has.
  bool handed_over_ = false;
  bool handing_over_ = false;  ///< answering the registrations queued before the hand-over
  /// When the control thread returns its freed memory (proxy::return_freed_memory): a while
  /// after it published a view, once the workers have let go of the one before.
  std::optional<std::chrono::steady_clock::time_point> purge_at_;
  static constexpr auto kPurgeAfterPublish = std::chrono::seconds(2);
};

}  // namespace weft::agent
