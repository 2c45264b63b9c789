// Loads weft's eBPF programs, attaches them, and gives the agent typed access to their maps.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/redirect/MeshAbi.hpp"
#include "common/Error.hpp"
#include "common/IpAddr.hpp"

namespace weft::redirect {

/// How the redirector is installed on this node.
struct Options {
  /// Maps and links are pinned here; a bpffs is mounted if the path is not on one yet, unless
  /// `mount_bpffs` is false (then that is an error).
  std::string bpffs_dir;
  bool mount_bpffs = true;
  /// cgroup v2 directory the socket hooks attach to; empty = the cgroup2 mount point.
  std::string cgroup_root;
  /// SO_MARK the agent puts on its own sockets; they are never redirected. Must not be 0.
  uint32_t socket_mark = 0x5746;
  /// Outbound destinations that always go direct (e.g. the API server, the node network).
  std::vector<Cidr> exclude_outbound_cidrs;
};

/// Per-pod capture settings.
struct PodConfig {
  uint32_t pod_id = 0;                            ///< the agent's handle, echoed in BPF-side state
  std::vector<uint16_t> excluded_outbound_ports;  ///< at most WEFT_MAX_EXCLUDED_PORTS, non-zero
  std::vector<uint16_t> excluded_inbound_ports;   ///< at most WEFT_MAX_EXCLUDED_PORTS, non-zero
  /// The pod's MeshPolicy admits any plaintext client: while no agent runs, tc passes plaintext
  /// SYNs to its apps instead of dropping them (WEFT_POD_PLAINTEXT_OPEN).
  bool plaintext_open = false;
};

/// weft's BPF programs loaded and attached: cgroup/connect4+6 and sockops at the cgroup root
/// through bpf_links pinned in the bpffs dir, tc ingress per pod on request. Maps are pinned by
/// name in the same dir, so a restarted agent finds the pods and connections of its predecessor,
/// and the pinned links keep redirecting while no agent runs. Movable, not copyable.
class Redirector {
 public:
  /// Loads the programs (reusing pinned maps) and attaches them. If pinned links exist (agent
  /// restart) they are switched to the new programs with BPF_LINK_UPDATE, so redirection never
  /// stops; else new links are created and pinned. Also syncs the excluded CIDRs.
  static Result<Redirector> open(const Options& options);

  /// A moved-from Redirector may only be assigned to or destroyed.
  Redirector(Redirector&&) noexcept;
  Redirector& operator=(Redirector&&) noexcept;
  Redirector(const Redirector&) = delete;
  Redirector& operator=(const Redirector&) = delete;
  /// Closes fds only: pinned links and maps stay (see uninstall()).
  ~Redirector();

  /// Meshes the pod whose netns has this cookie (insert or replace).
  Result<void> add_pod(uint64_t netns_cookie, const PodConfig& config);
  /// Stops capturing for the pod; a pod that is not meshed is not an error.
  Result<void> remove_pod(uint64_t netns_cookie);
  /// The netns cookies currently meshed (what a restarted agent reconciles against).
  std::vector<uint64_t> pod_cookies() const;

  /// Attaches tc ingress capture to `ifindex` in the calling thread's netns (the caller has
  /// entered the pod's netns). Creates the clsact qdisc if needed and replaces a filter of ours
  /// left by a previous agent.
  Result<void> attach_inbound(int ifindex);

  /// Where the app behind `peer` (the peer of a connection accepted on the outbound port in the
  /// pod with `netns_cookie`) wanted to connect; nullopt if unknown.
  std::optional<SockAddr> original_destination(uint64_t netns_cookie, const SockAddr& peer) const;

  /// The BPF decision counters, summed over CPUs, indexed by enum weft_stat.
  std::array<uint64_t, WEFT_STAT__COUNT> stats() const;
  /// Metric label of a counter, e.g. "connect_redirected"; "unknown" out of range.
  static std::string_view stat_name(int stat);

  /// Detaches the programs (BPF_LINK_DETACH on the pinned links, effective even while an agent
  /// still holds them), empties weft_pods, and removes every pin and the dir itself. tc filters
  /// inside pod netns stay until their interface goes; with no pod in their map they pass every
  /// packet.
  static Result<void> uninstall(const std::string& bpffs_dir);

 private:
  struct State;
  explicit Redirector(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

/// The cookie of the netns a socket lives in (SO_NETNS_COOKIE, Linux 5.14), the key of weft_pods.
Result<uint64_t> netns_cookie_of_socket(int fd);

}  // namespace weft::redirect
