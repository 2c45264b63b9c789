#include "agent/redirect/Redirector.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "agent/redirect/Link.hpp"
#include "agent/redirect/Mounts.hpp"
#include "agent/redirect/Skeleton.hpp"
#include "common/Fd.hpp"
#include "common/Log.hpp"
#include "sock_connect.skel.h"
#include "sockops.skel.h"
#include "tc_inbound.skel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71  // asm-generic/socket.h, Linux 5.14
#endif

namespace weft::redirect {
namespace {

// Pin names of the cgroup links, beside the maps (which libbpf pins under their own names).
constexpr const char* kConnect4Pin = "link_connect4";
constexpr const char* kConnect6Pin = "link_connect6";
constexpr const char* kSockopsPin = "link_sockops";
constexpr std::array<const char*, 3> kLinkPins = {kConnect4Pin, kConnect6Pin, kSockopsPin};

// Our tc filter's identity on the clsact ingress hook: a fixed handle and priority, so a
// restarted agent replaces its predecessor's filter instead of stacking a second one.
constexpr uint32_t kTcHandle = 0x5746;
constexpr uint32_t kTcPriority = 1;

constexpr std::array<std::string_view, WEFT_STAT__COUNT> kStatNames = {
    "connect_redirected",    "connect_not_meshed",    "connect_agent_socket",
    "connect_loopback",      "connect_excluded_port", "connect_excluded_cidr",
    "connect_not_tcp",       "orig_dst_stored",       "orig_dst_rekeyed",
    "orig_dst_map_full",     "agent_flow_recorded",   "inbound_assigned",
    "inbound_from_agent",    "inbound_excluded_port", "inbound_no_listener",
    "inbound_assign_failed", "inbound_not_meshed",    "inbound_fail_closed",
};
static_assert(!kStatNames.back().empty(), "every enum weft_stat value needs a metric label");

// libbpf reports through one process-wide callback; route it to our log (one line per call:
// the verifier log arrives as one multi-line chunk).
int libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) {
    return 0;
  }
  va_list copy;
  va_copy(copy, args);
  int len = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (len <= 0) {
    return len;
  }
  std::string text(static_cast<std::size_t>(len) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  text.resize(static_cast<std::size_t>(len));
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  for (char& c : text) {
    if (c == '\n') {
      c = '|';
    }
  }
  // Netlink extack text ("Exclusivity flag on...") comes with an error code that the caller
  // reports with context (or expects, like -EEXIST for an existing clsact qdisc).
  bool extack = text.find("Kernel error message") != std::string::npos;
  if (level == LIBBPF_WARN && !extack) {
    log::warn("libbpf", "msg=\"{}\"", text);
  } else {
    log::debug("libbpf", "msg=\"{}\"", text);
  }
  return len;
}

void install_libbpf_logger() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(libbpf_log); });
}

// Tracks links pinned by this open() so a failure later in open() can take them back; pins that
// existed before (restart) are left alone.
class NewPins {
 public:
  NewPins() = default;
  NewPins(const NewPins&) = delete;
  NewPins& operator=(const NewPins&) = delete;
  ~NewPins() {
    for (const auto& path : paths_) {
      ::unlink(path.c_str());
    }
  }
  void add(std::string path) { paths_.push_back(std::move(path)); }
  void commit() { paths_.clear(); }

 private:
  std::vector<std::string> paths_;
};

// Attaches `prog` to the cgroup through a link pinned at `pin`, or, if a pinned link is already
// there (agent restart), swaps its program atomically: the hook never goes empty.
Result<Link> attach_cgroup_pinned(bpf_program* prog, int cgroup_fd, const std::string& pin,
                                  NewPins& new_pins) {
  if (::access(pin.c_str(), F_OK) == 0) {
    Link old(bpf_link__open(pin.c_str()));
    if (old) {
      int err = bpf_link__update_program(old.get(), prog);
      if (err == 0) {
        log::info("bpf_link_updated", "pin={}", pin);
        return old;
      }
      // -ENOLINK: the link was detached (its cgroup went away); replace it below.
      log::warn("bpf_link_stale", "pin={} err=\"{}\"", pin, std::strerror(-err));
    }
    if (::unlink(pin.c_str()) != 0 && errno != ENOENT) {
      return fail_errno("unpin stale link " + pin);
    }
  }
  Link link(bpf_program__attach_cgroup(prog, cgroup_fd));
  if (!link) {
    return fail_errno(std::string("attach ") + bpf_program__name(prog) + " to cgroup");
  }
  if (int err = bpf_link__pin(link.get(), pin.c_str()); err != 0) {
    return fail_errno("pin link " + pin, -err);
  }
  new_pins.add(pin);
  log::info("bpf_link_attached", "pin={}", pin);
  return link;
}

std::array<uint8_t, 16> masked(const Cidr& cidr) {
  std::array<uint8_t, 16> out = cidr.base.bytes;
  std::size_t width = cidr.base.is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < width; ++i) {
    std::size_t bit = i * 8;
    if (bit >= cidr.prefix_len) {
      out[i] = 0;
    } else if (bit + 8 > cidr.prefix_len) {
      out[i] &= static_cast<uint8_t>(0xff00u >> (cidr.prefix_len - bit));
    }
  }
  return out;
}

// Makes an LPM trie hold exactly `wanted`: inserts first, then deletes what is no longer
// configured, so a restart never opens a window where an excluded destination is captured.
template <class Key>
Result<void> sync_trie(int map_fd, const std::vector<Key>& wanted, const char* name) {
  uint8_t one = 1;
  for (const Key& key : wanted) {
    if (bpf_map_update_elem(map_fd, &key, &one, BPF_ANY) != 0) {
      return fail_errno(std::string("insert into ") + name);
    }
  }
  std::vector<Key> stale;
  Key key{};
  Key next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
    bool keep = false;
    for (const Key& w : wanted) {
      keep = keep || std::memcmp(&w, &next, sizeof(Key)) == 0;
    }
    if (!keep) {
      stale.push_back(next);
    }
    key = next;
    prev = &key;
  }
  for (const Key& k : stale) {
    bpf_map_delete_elem(map_fd, &k);
  }
  return {};
}

Result<void> sync_excluded_cidrs(int v4_fd, int v6_fd, const std::vector<Cidr>& cidrs) {
  std::vector<weft_cidr4_key> v4;
  std::vector<weft_cidr6_key> v6;
  for (const Cidr& cidr : cidrs) {
    auto bytes = masked(cidr);
    if (cidr.base.is_v4()) {
      weft_cidr4_key key{};
      key.prefixlen = cidr.prefix_len;
      std::memcpy(&key.addr, bytes.data(), 4);
      v4.push_back(key);
    } else {
      weft_cidr6_key key{};
      key.prefixlen = cidr.prefix_len;
      std::memcpy(key.addr, bytes.data(), 16);
      v6.push_back(key);
    }
  }
  if (auto ok = sync_trie(v4_fd, v4, "weft_excl_v4"); !ok) {
    return ok;
  }
  return sync_trie(v6_fd, v6, "weft_excl_v6");
}

Result<void> fill_ports(const std::vector<uint16_t>& ports, __u16 (&out)[WEFT_MAX_EXCLUDED_PORTS],
                        const char* what) {
  if (ports.size() > WEFT_MAX_EXCLUDED_PORTS) {
    return fail(Error::Kind::Config, fmt::format("{} lists {} ports, at most {} are supported",
                                                 what, ports.size(), WEFT_MAX_EXCLUDED_PORTS));
  }
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (ports[i] == 0) {
      return fail(Error::Kind::Config, std::string(what) + " contains port 0");
    }
    out[i] = ports[i];
  }
  return {};
}

template <class Rodata>
void set_config(Rodata* rodata, uint32_t mark) {
  rodata->weft_agent_mark = mark;
  rodata->weft_outbound_port = WEFT_OUTBOUND_PORT;
  rodata->weft_inbound_port = WEFT_INBOUND_PORT;
  rodata->weft_tunnel_port = WEFT_TUNNEL_PORT;
}

/// Loads one object: opens its skeleton (maps reuse the pins under `opts.pin_root_path`), sets
/// its configuration and loads it through the verifier.
template <class T>
Result<std::unique_ptr<Skeleton<T>>> load_skeleton(const bpf_object_open_opts& opts,
                                                   const std::string& what, uint32_t mark) {
  auto skel = Skeleton<T>::open(opts, what);
  if (!skel) {
    return std::unexpected(skel.error());
  }
  set_config((**skel)->rodata, mark);
  if (auto ok = (*skel)->load(); !ok) {
    return std::unexpected(ok.error());
  }
  return std::move(*skel);
}

/// Refuses pins made for another layout (mesh_abi.h, WEFT_ABI_VERSION) before anything is
/// loaded or attached: the predecessor's programs and maps stay as they are. No pins: a first
/// start.
Result<void> check_pinned_layout(const std::string& bpffs_dir) {
  const std::string abi_pin = bpffs_dir + "/weft_abi";
  Fd abi(bpf_obj_get(abi_pin.c_str()));
  uint32_t pinned = 0;
  if (abi) {
    uint32_t key = 0;
    if (bpf_map_lookup_elem(abi.get(), &key, &pinned) != 0) {
      return fail_errno("read " + abi_pin);
    }
  } else if (::access((bpffs_dir + "/weft_pods").c_str(), F_OK) != 0) {
    return {};
  }
  // A pinned weft_abi that still reads 0 was created by an agent that died before writing it:
  // its maps are this build's (the version is written right after they are created).
  if (pinned == WEFT_ABI_VERSION || (abi && pinned == 0)) {
    return {};
  }
  return fail(Error::Kind::Config,
              fmt::format("the BPF maps pinned under {} have layout version {}, this agent's is "
                          "{}: it cannot share them with the agent that made them, and nothing "
                          "was changed. Drain the node and run `weft-agent uninstall --bpffs-dir "
                          "{}` (or roll back) before starting this version",
                          bpffs_dir, abi ? std::to_string(pinned) : "0 (no weft_abi pin)",
                          WEFT_ABI_VERSION, bpffs_dir));
}

/// Where cgroup2 is mounted: `options.cgroup_root`, else found in the mount table.
Result<std::string> cgroup_root_of(const Options& options) {
  if (!options.cgroup_root.empty()) {
    return options.cgroup_root;
  }
  return cgroup2_mount_point();
}

}  // namespace

struct Redirector::State {
  // Skeletons first: members are destroyed in reverse order, links before their programs.
  std::unique_ptr<Skeleton<sock_connect_bpf>> connect;
  std::unique_ptr<Skeleton<sockops_bpf>> sockops;
  std::unique_ptr<Skeleton<tc_inbound_bpf>> tc;
  Link connect4_link;
  Link connect6_link;
  Link sockops_link;

  // All three objects declare every map and reuse the same pins, so any skeleton's fd will do.
  int map_fd(bpf_map* map) const { return bpf_map__fd(map); }
  int pods_fd() const { return map_fd(connect->get().maps.weft_pods); }
  int orig_dst_fd() const { return map_fd(connect->get().maps.weft_orig_dst); }
  int stats_fd() const { return map_fd(connect->get().maps.weft_stats); }

  /// Loads the three objects, in this order, with their maps pinned under `bpffs_dir`.
  Result<void> load(const std::string& bpffs_dir, uint32_t mark);
  /// Attaches the cgroup programs through links pinned in `bpffs_dir` (replacing the programs
  /// of links already pinned there); on failure, the pins made here are removed again.
  Result<void> attach_cgroup_hooks(int cgroup_fd, const std::string& bpffs_dir);
};

Result<void> Redirector::State::load(const std::string& bpffs_dir, uint32_t mark) {
  bpf_object_open_opts open_opts{};
  open_opts.sz = sizeof(open_opts);
  open_opts.pin_root_path = bpffs_dir.c_str();
  auto connect_skel = load_skeleton<sock_connect_bpf>(open_opts, "sock_connect", mark);
  if (!connect_skel) {
    return std::unexpected(connect_skel.error());
  }
  connect = std::move(*connect_skel);
  auto sockops_skel = load_skeleton<sockops_bpf>(open_opts, "sockops", mark);
  if (!sockops_skel) {
    return std::unexpected(sockops_skel.error());
  }
  sockops = std::move(*sockops_skel);
  auto tc_skel = load_skeleton<tc_inbound_bpf>(open_opts, "tc_inbound", mark);
  if (!tc_skel) {
    return std::unexpected(tc_skel.error());
  }
  tc = std::move(*tc_skel);
  return {};
}

Result<void> Redirector::State::attach_cgroup_hooks(int cgroup_fd, const std::string& bpffs_dir) {
  NewPins new_pins;
  const std::string dir = bpffs_dir + "/";
  // sockops before connect: a connection redirected by connect4 needs sockops to re-key it.
  auto sockops_pinned = attach_cgroup_pinned(sockops->get().progs.weft_sockops, cgroup_fd,
                                             dir + kSockopsPin, new_pins);
  if (!sockops_pinned) {
    return std::unexpected(sockops_pinned.error());
  }
  sockops_link = std::move(*sockops_pinned);
  auto connect4_pinned = attach_cgroup_pinned(connect->get().progs.weft_connect4, cgroup_fd,
                                              dir + kConnect4Pin, new_pins);
  if (!connect4_pinned) {
    return std::unexpected(connect4_pinned.error());
  }
  connect4_link = std::move(*connect4_pinned);
  auto connect6_pinned = attach_cgroup_pinned(connect->get().progs.weft_connect6, cgroup_fd,
                                              dir + kConnect6Pin, new_pins);
  if (!connect6_pinned) {
    return std::unexpected(connect6_pinned.error());
  }
  connect6_link = std::move(*connect6_pinned);
  new_pins.commit();
  return {};
}

Redirector::Redirector(std::unique_ptr<State> state) : state_(std::move(state)) {}
Redirector::Redirector(Redirector&&) noexcept = default;
Redirector& Redirector::operator=(Redirector&&) noexcept = default;
Redirector::~Redirector() = default;

Result<Redirector> Redirector::open(const Options& options) {
  install_libbpf_logger();
  if (options.socket_mark == 0) {
    return fail(Error::Kind::Config, "socket mark 0 would exempt every socket from capture");
  }
  // The cgroup root first: where it is missing nothing may be mounted yet (a bpffs mounted in a
  // private mount namespace would hold the pins only until the agent exits).
  auto cgroup_root = cgroup_root_of(options);
  if (!cgroup_root) {
    return std::unexpected(cgroup_root.error());
  }
  if (auto ok = ensure_bpffs_dir(options.bpffs_dir, options.mount_bpffs); !ok) {
    return std::unexpected(ok.error());
  }
  Fd cgroup(::open(cgroup_root->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup) {
    return fail_errno("open cgroup " + *cgroup_root);
  }
  if (auto ok = check_pinned_layout(options.bpffs_dir); !ok) {
    return std::unexpected(ok.error());
  }
  auto state = std::make_unique<State>();
  if (auto ok = state->load(options.bpffs_dir, options.socket_mark); !ok) {
    return std::unexpected(ok.error());
  }
  uint32_t zero = 0;
  uint32_t version = WEFT_ABI_VERSION;
  if (bpf_map_update_elem(state->map_fd(state->connect->get().maps.weft_abi), &zero, &version,
                          BPF_ANY) != 0) {
    return fail_errno("write the layout version into weft_abi");
  }
  // Exclusions first: once the hooks are attached they must already apply.
  if (auto ok = sync_excluded_cidrs(state->map_fd(state->connect->get().maps.weft_excl_v4),
                                    state->map_fd(state->connect->get().maps.weft_excl_v6),
                                    options.exclude_outbound_cidrs);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = state->attach_cgroup_hooks(cgroup.get(), options.bpffs_dir); !ok) {
    return std::unexpected(ok.error());
  }
  log::info("redirector_ready", "bpffs_dir={} cgroup={} mark={:#x}", options.bpffs_dir,
            *cgroup_root, options.socket_mark);
  return Redirector(std::move(state));
}

Result<void> Redirector::add_pod(uint64_t netns_cookie, const PodConfig& config) {
  weft_pod pod;
  std::memset(&pod, 0, sizeof(pod));
  pod.pod_id = config.pod_id;
  pod.flags = config.plaintext_open ? WEFT_POD_PLAINTEXT_OPEN : 0;
  if (auto ok = fill_ports(config.excluded_outbound_ports, pod.excluded_outbound_ports,
                           "excluded outbound ports");
      !ok) {
    return ok;
  }
  if (auto ok = fill_ports(config.excluded_inbound_ports, pod.excluded_inbound_ports,
                           "excluded inbound ports");
      !ok) {
    return ok;
  }
  if (bpf_map_update_elem(state_->pods_fd(), &netns_cookie, &pod, BPF_ANY) != 0) {
    return fail_errno(fmt::format("add pod netns_cookie={} to weft_pods", netns_cookie));
  }
  return {};
}

Result<void> Redirector::remove_pod(uint64_t netns_cookie) {
  if (bpf_map_delete_elem(state_->pods_fd(), &netns_cookie) != 0 && errno != ENOENT) {
    return fail_errno(fmt::format("remove pod netns_cookie={} from weft_pods", netns_cookie));
  }
  return {};
}

std::vector<uint64_t> Redirector::pod_cookies() const {
  std::vector<uint64_t> cookies;
  uint64_t key = 0;
  uint64_t next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(state_->pods_fd(), prev, &next) == 0) {
    cookies.push_back(next);
    key = next;
    prev = &key;
  }
  return cookies;
}

Result<void> Redirector::attach_inbound(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  // Creates the clsact qdisc; -EEXIST when a previous agent (or another tool) already did.
  if (int err = bpf_tc_hook_create(&hook); err != 0 && err != -EEXIST) {
    return fail_errno(fmt::format("create clsact qdisc on ifindex {}", ifindex), -err);
  }
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  opts.prog_fd = bpf_program__fd(state_->tc->get().progs.weft_tc_inbound);
  opts.flags = BPF_TC_F_REPLACE;
  if (int err = bpf_tc_attach(&hook, &opts); err != 0) {
    return fail_errno(fmt::format("attach tc ingress on ifindex {}", ifindex), -err);
  }
  return {};
}

std::optional<SockAddr> Redirector::original_destination(uint64_t netns_cookie,
                                                         const SockAddr& peer) const {
  weft_orig_key key;
  std::memset(&key, 0, sizeof(key));
  key.netns_cookie = netns_cookie;
  key.peer = to_abi(peer);
  weft_sockaddr value{};
  if (bpf_map_lookup_elem(state_->orig_dst_fd(), &key, &value) != 0) {
    return std::nullopt;
  }
  return from_abi(value);
}

std::array<uint64_t, WEFT_STAT__COUNT> Redirector::stats() const {
  std::array<uint64_t, WEFT_STAT__COUNT> totals{};
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return totals;
  }
  // A per-CPU lookup fills one 8-byte-aligned value per possible CPU.
  std::vector<uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  for (uint32_t i = 0; i < static_cast<uint32_t>(WEFT_STAT__COUNT); ++i) {
    if (bpf_map_lookup_elem(state_->stats_fd(), &i, per_cpu.data()) != 0) {
      continue;
    }
    for (uint64_t v : per_cpu) {
      totals[i] += v;
    }
  }
  return totals;
}

std::string_view Redirector::stat_name(int stat) {
  if (stat < 0 || stat >= WEFT_STAT__COUNT) {
    return "unknown";
  }
  return kStatNames[static_cast<std::size_t>(stat)];
}

Result<void> Redirector::uninstall(const std::string& bpffs_dir) {
  install_libbpf_logger();
  for (const char* name : kLinkPins) {
    std::string pin = bpffs_dir + "/" + name;
    Fd link(bpf_obj_get(pin.c_str()));
    if (!link) {
      continue;  // never attached, or already uninstalled
    }
    // Detach now, even if a running agent still holds the link open; unpinning alone would
    // leave the program attached until the last fd closes.
    if (bpf_link_detach(link.get()) != 0 && errno != ENOLINK) {
      return fail_errno("detach link " + pin);
    }
    log::info("bpf_link_detached", "pin={}", pin);
  }
  // The tc filters in pods outlive the pins and would keep failing closed for the pods left in
  // the map: an uninstalled mesh refuses nothing.
  std::string pods_pin = bpffs_dir + "/weft_pods";
  if (Fd pods(bpf_obj_get(pods_pin.c_str())); pods) {
    uint64_t key = 0;
    while (bpf_map_get_next_key(pods.get(), nullptr, &key) == 0) {
      if (bpf_map_delete_elem(pods.get(), &key) != 0) {
        return fail_errno("empty " + pods_pin);
      }
    }
  }
  return remove_bpffs_dir(bpffs_dir);
}

Result<uint64_t> netns_cookie_of_socket(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (::getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) {
    return fail_errno("getsockopt SO_NETNS_COOKIE");
  }
  return cookie;
}

}  // namespace weft::redirect
