// Real-kernel tests of weft's BPF redirection: the test plays the agent with plain sockets
// inside throwaway network namespaces, on a private bpffs. Needs root; fails (never skips) when
// BPF, bpffs, cgroup v2 or netns support is missing.
#include "agent/redirect/Redirector.hpp"

#include <bpf/bpf.h>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <stdexcept>

#include "agent/redirect/testing/TestNet.hpp"

namespace weft::redirect {
namespace {

using namespace std::chrono_literals;
using testing::accept_within;
using testing::addr;
using testing::connect_to;
using testing::local_of;
using testing::peer_of;
using testing::TestBpffs;
using testing::TestNetns;

constexpr uint32_t kMark = 0x5746;
// Loopback and veth connections complete in microseconds; these bound a hung test, and the
// short one is how long "nothing arrived" is given.
constexpr auto kArrives = 2000ms;
constexpr auto kNothing = 100ms;

Redirector open_redirector(const std::string& dir, std::vector<Cidr> excluded = {}) {
  Options options;
  options.bpffs_dir = dir;
  options.socket_mark = kMark;
  options.exclude_outbound_cidrs = std::move(excluded);
  auto redirector = Redirector::open(options);
  if (!redirector) {
    throw std::runtime_error("Redirector::open(" + dir + "): " + redirector.error().message);
  }
  return std::move(*redirector);
}

void mesh(Redirector& redirector, uint64_t cookie, PodConfig config = {}) {
  auto ok = redirector.add_pod(cookie, config);
  if (!ok) {
    throw std::runtime_error("add_pod: " + ok.error().message);
  }
}

uint64_t stat(const Redirector& redirector, weft_stat which) {
  return redirector.stats()[which];
}

Cidr cidr(const char* text) {
  auto parsed = Cidr::parse(text);
  if (!parsed) {
    throw std::runtime_error(std::string("bad test CIDR ") + text);
  }
  return *parsed;
}

// A meshed pod netns in which the test owns the agent's outbound listeners.
struct OutboundPod {
  explicit OutboundPod(std::vector<Cidr> excluded = {}, PodConfig config = {})
      : redirector(open_redirector(bpffs.path(), std::move(excluded))),
        cookie(pod.cookie()),
        listener4(pod.socket(AF_INET, SOCK_STREAM)),
        listener6(pod.socket(AF_INET6, SOCK_STREAM)) {
    testing::listen_on(listener4, addr("127.0.0.1", WEFT_OUTBOUND_PORT));
    testing::listen_on(listener6, addr("::1", WEFT_OUTBOUND_PORT));
    mesh(redirector, cookie, std::move(config));
  }

  // Connects a fresh socket from the pod; returns the agent side if it landed on 15001.
  std::optional<Fd> connect_redirected(int domain, const SockAddr& dst) {
    Fd app = pod.socket(domain, SOCK_STREAM);
    int err = connect_to(app, dst);
    if (err != 0) {
      return std::nullopt;
    }
    Fd& listener = (dst.ip.is_v4() ? listener4 : listener6);
    Fd agent = accept_within(listener, kArrives);
    if (!agent) {
      return std::nullopt;
    }
    apps.push_back(std::move(app));
    return agent;
  }

  // Declaration order is teardown order reversed: sockets and netns go before the bpffs.
  TestBpffs bpffs;
  TestNetns pod;
  Redirector redirector;
  uint64_t cookie;
  Fd listener4;
  Fd listener6;
  std::vector<Fd> apps;
};

// True when a connect from a fresh socket fails as it would without weft: no route exists in a
// pod netns that only has lo, while 127.0.0.1:15001 always routes.
bool goes_direct(const Fd& sock, const SockAddr& dst) {
  return connect_to(sock, dst) == ENETUNREACH;
}

}  // namespace

TEST_CASE("a meshed pod's outbound TCP lands on 15001 and its original destination is known") {
  testing::require_privileged_environment();
  OutboundPod f;
  auto before = f.redirector.stats();

  SUBCASE("IPv4") {
    auto agent = f.connect_redirected(AF_INET, addr("10.255.1.2", 80));
    REQUIRE_MESSAGE(agent, "connect to 10.255.1.2:80 was not redirected to 127.0.0.1:15001");
    SockAddr peer = peer_of(*agent);
    CHECK(peer == local_of(f.apps.back()));
    auto orig = f.redirector.original_destination(f.cookie, peer);
    REQUIRE(orig);
    CHECK(orig->str() == "10.255.1.2:80");
    CHECK_FALSE(f.redirector.original_destination(f.cookie + 1, peer));
    auto after = f.redirector.stats();
    CHECK(after[WEFT_STAT_CONNECT_REDIRECTED] == before[WEFT_STAT_CONNECT_REDIRECTED] + 1);
    CHECK(after[WEFT_STAT_ORIG_DST_STORED] == before[WEFT_STAT_ORIG_DST_STORED] + 1);
    CHECK(after[WEFT_STAT_ORIG_DST_REKEYED] == before[WEFT_STAT_ORIG_DST_REKEYED] + 1);
  }
  SUBCASE("IPv6") {
    auto agent = f.connect_redirected(AF_INET6, addr("fd00:255::2", 443));
    REQUIRE_MESSAGE(agent, "connect to [fd00:255::2]:443 was not redirected to [::1]:15001");
    auto orig = f.redirector.original_destination(f.cookie, peer_of(*agent));
    REQUIRE(orig);
    CHECK(orig->str() == "[fd00:255::2]:443");
  }
  SUBCASE("IPv4-mapped destination on a dual-stack socket") {
    // connect_to() writes ::ffff:10.255.1.3 for an AF_INET6 socket; it must reach the IPv4
    // listener and be recorded as plain IPv4.
    Fd app = f.pod.socket(AF_INET6, SOCK_STREAM);
    REQUIRE(connect_to(app, addr("10.255.1.3", 8443)) == 0);
    Fd agent = accept_within(f.listener4, kArrives);
    REQUIRE(agent);
    SockAddr peer = peer_of(agent);
    CHECK(peer.ip.is_v4());
    auto orig = f.redirector.original_destination(f.cookie, peer);
    REQUIRE(orig);
    CHECK(orig->str() == "10.255.1.3:8443");
  }
  CHECK(f.redirector.pod_cookies() == std::vector<uint64_t>{f.cookie});
}

TEST_CASE("connects weft must not capture go where the app asked") {
  testing::require_privileged_environment();
  PodConfig config;
  config.pod_id = 7;
  config.excluded_outbound_ports = {5432};
  OutboundPod f({cidr("10.254.0.0/16"), cidr("fd00:254::/32")}, config);
  auto before = f.redirector.stats();
  auto delta = [&](weft_stat which) { return stat(f.redirector, which) - before[which]; };

  SUBCASE("the agent's own socket (SO_MARK)") {
    Fd sock = f.pod.socket(AF_INET, SOCK_STREAM);
    uint32_t mark = kMark;
    REQUIRE(::setsockopt(sock.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0);
    CHECK(goes_direct(sock, addr("10.255.1.2", 80)));
    CHECK(delta(WEFT_STAT_CONNECT_AGENT_SOCKET) == 1);
  }
  SUBCASE("UDP") {
    Fd sock = f.pod.socket(AF_INET, SOCK_DGRAM);
    CHECK(goes_direct(sock, addr("10.255.1.2", 53)));
    CHECK(delta(WEFT_STAT_CONNECT_NOT_TCP) >= 1);
  }
  SUBCASE("a loopback destination") {
    Fd local = f.pod.socket(AF_INET, SOCK_STREAM);
    testing::listen_on(local, addr("127.0.0.1", 9090));
    Fd sock = f.pod.socket(AF_INET, SOCK_STREAM);
    REQUIRE(connect_to(sock, addr("127.0.0.1", 9090)) == 0);
    CHECK(accept_within(local, kArrives));
    CHECK(delta(WEFT_STAT_CONNECT_LOOPBACK) == 1);
  }
  SUBCASE("an excluded port") {
    Fd sock = f.pod.socket(AF_INET, SOCK_STREAM);
    CHECK(goes_direct(sock, addr("10.255.1.2", 5432)));
    CHECK(delta(WEFT_STAT_CONNECT_EXCLUDED_PORT) == 1);
  }
  SUBCASE("an excluded CIDR, IPv4 and IPv6") {
    Fd sock4 = f.pod.socket(AF_INET, SOCK_STREAM);
    CHECK(goes_direct(sock4, addr("10.254.3.4", 80)));
    Fd sock6 = f.pod.socket(AF_INET6, SOCK_STREAM);
    CHECK(goes_direct(sock6, addr("fd00:254:1::9", 80)));
    CHECK(delta(WEFT_STAT_CONNECT_EXCLUDED_CIDR) == 2);
  }
  SUBCASE("a netns that is not meshed") {
    TestNetns other;
    Fd sock = other.socket(AF_INET, SOCK_STREAM);
    CHECK(goes_direct(sock, addr("10.255.1.2", 80)));
    CHECK(delta(WEFT_STAT_CONNECT_NOT_MESHED) >= 1);
  }
  SUBCASE("a pod after remove_pod") {
    REQUIRE(f.redirector.remove_pod(f.cookie));
    CHECK(f.redirector.pod_cookies().empty());
    Fd sock = f.pod.socket(AF_INET, SOCK_STREAM);
    CHECK(goes_direct(sock, addr("10.255.1.2", 80)));
    CHECK(f.redirector.remove_pod(f.cookie));  // idempotent
  }
  CHECK_FALSE(accept_within(f.listener4, kNothing));
  CHECK_FALSE(accept_within(f.listener6, kNothing));
  CHECK(delta(WEFT_STAT_CONNECT_REDIRECTED) == 0);
}

TEST_CASE("add_pod rejects port lists the BPF side cannot hold") {
  testing::require_privileged_environment();
  TestBpffs bpffs;
  Redirector redirector = open_redirector(bpffs.path());
  PodConfig config;
  config.excluded_inbound_ports.assign(WEFT_MAX_EXCLUDED_PORTS + 1, 22);
  CHECK_FALSE(redirector.add_pod(1, config));
  config.excluded_inbound_ports = {0};
  CHECK_FALSE(redirector.add_pod(1, config));
  CHECK(redirector.pod_cookies().empty());
}

TEST_CASE(
    "tc ingress hands SYNs for the app's ports to the inbound listener, not the agent's own") {
  testing::require_privileged_environment();
  TestBpffs bpffs;
  Redirector redirector = open_redirector(bpffs.path());
  TestNetns pod;
  TestNetns peer;
  testing::make_veth(pod, "eth0", "10.255.7.1/24", peer, "eth0", "10.255.7.2/24");
  Fd pod_app = pod.socket(AF_INET, SOCK_STREAM);
  Fd pod_inbound = pod.socket(AF_INET, SOCK_STREAM);
  testing::listen_on(pod_app, addr("0.0.0.0", 8080));
  testing::listen_on(pod_inbound, addr("0.0.0.0", WEFT_INBOUND_PORT));
  const uint64_t pod_cookie = pod.cookie();
  mesh(redirector, pod_cookie);
  REQUIRE(pod.run([&] { return redirector.attach_inbound(pod.ifindex("eth0")).has_value(); }));
  // A restarted agent attaches again; the filter is replaced, not stacked.
  REQUIRE(pod.run([&] { return redirector.attach_inbound(pod.ifindex("eth0")).has_value(); }));
  auto before = redirector.stats();
  auto delta = [&](weft_stat which) { return stat(redirector, which) - before[which]; };

  SUBCASE("a client from outside is captured and keeps its original destination") {
    Fd client = peer.socket(AF_INET, SOCK_STREAM);
    REQUIRE(connect_to(client, addr("10.255.7.1", 8080)) == 0);
    Fd accepted = accept_within(pod_inbound, kArrives);
    REQUIRE_MESSAGE(accepted, "SYN to 10.255.7.1:8080 was not assigned to the :15006 listener");
    CHECK(local_of(accepted).str() == "10.255.7.1:8080");
    CHECK(peer_of(accepted) == local_of(client));
    CHECK_FALSE(accept_within(pod_app, kNothing));
    CHECK(delta(WEFT_STAT_INBOUND_ASSIGNED) == 1);
    // Data flows both ways over the captured connection (later segments find the child).
    REQUIRE(::send(client.get(), "ping", 4, 0) == 4);
    char buf[4] = {};
    CHECK(::recv(accepted.get(), buf, sizeof(buf), MSG_WAITALL) == 4);
  }
  SUBCASE("with no inbound listener (no agent) the pod fails closed: the SYN is dropped") {
    pod_inbound.reset();
    Fd client = peer.socket(AF_INET, SOCK_STREAM);
    timeval wait{0, 300000};  // connect() gives up with EINPROGRESS: no SYN-ACK, no RST
    ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof(wait));
    CHECK(connect_to(client, addr("10.255.7.1", 8080)) == EINPROGRESS);
    CHECK_FALSE(accept_within(pod_app, kNothing));
    CHECK(delta(WEFT_STAT_INBOUND_FAIL_CLOSED) >= 1);
    CHECK(delta(WEFT_STAT_INBOUND_NO_LISTENER) == 0);
  }
  SUBCASE("with no inbound listener a pod open to any plaintext client is still reachable") {
    PodConfig open;
    open.plaintext_open = true;
    mesh(redirector, pod_cookie, open);
    pod_inbound.reset();
    Fd client = peer.socket(AF_INET, SOCK_STREAM);
    REQUIRE(connect_to(client, addr("10.255.7.1", 8080)) == 0);
    CHECK(accept_within(pod_app, kArrives));
    CHECK(delta(WEFT_STAT_INBOUND_NO_LISTENER) == 1);
  }
  SUBCASE("a pod that is no longer meshed is not captured") {
    REQUIRE(redirector.remove_pod(pod_cookie));
    Fd client = peer.socket(AF_INET, SOCK_STREAM);
    REQUIRE(connect_to(client, addr("10.255.7.1", 8080)) == 0);
    CHECK(accept_within(pod_app, kArrives));
    CHECK_FALSE(accept_within(pod_inbound, kNothing));
    CHECK(delta(WEFT_STAT_INBOUND_NOT_MESHED) == 1);
  }
  SUBCASE("an excluded inbound port is not captured") {
    PodConfig config;
    config.excluded_inbound_ports = {8080};
    mesh(redirector, pod_cookie, config);
    Fd client = peer.socket(AF_INET, SOCK_STREAM);
    REQUIRE(connect_to(client, addr("10.255.7.1", 8080)) == 0);
    CHECK(accept_within(pod_app, kArrives));
    CHECK(delta(WEFT_STAT_INBOUND_EXCLUDED_PORT) == 1);
  }
  SUBCASE("the agent's connection from a meshed pod to another meshed pod is not captured") {
    // Mesh the peer too, with the same listeners and capture on its side.
    Fd peer_app = peer.socket(AF_INET, SOCK_STREAM);
    Fd peer_inbound = peer.socket(AF_INET, SOCK_STREAM);
    testing::listen_on(peer_app, addr("0.0.0.0", 8080));
    testing::listen_on(peer_inbound, addr("0.0.0.0", WEFT_INBOUND_PORT));
    mesh(redirector, peer.cookie());
    REQUIRE(peer.run([&] { return redirector.attach_inbound(peer.ifindex("eth0")).has_value(); }));
    auto marked_socket = [&] {
      Fd sock = pod.socket(AF_INET, SOCK_STREAM);
      uint32_t mark = kMark;
      REQUIRE(::setsockopt(sock.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0);
      return sock;
    };

    Fd agent = marked_socket();
    REQUIRE(connect_to(agent, addr("10.255.7.2", 8080)) == 0);
    CHECK(accept_within(peer_app, kArrives));
    CHECK_FALSE(accept_within(peer_inbound, kNothing));
    CHECK(delta(WEFT_STAT_AGENT_FLOW_RECORDED) == 1);
    CHECK(delta(WEFT_STAT_INBOUND_FROM_AGENT) == 1);

    // Control: the same marked socket from a netns that is not meshed records no flow, so the
    // destination captures it. The exemption comes from weft_agent_flows, nothing else.
    REQUIRE(redirector.remove_pod(pod_cookie));
    Fd unmeshed = marked_socket();
    REQUIRE(connect_to(unmeshed, addr("10.255.7.2", 8080)) == 0);
    CHECK(accept_within(peer_inbound, kArrives));
    CHECK(delta(WEFT_STAT_AGENT_FLOW_RECORDED) == 1);
  }
}

TEST_CASE("with bpffs_mount off, a bpffs dir not on a bpffs is refused and nothing is mounted") {
  char tmpl[] = "/tmp/weft-no-bpffs-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  Options options;
  options.bpffs_dir = dir + "/weft";
  options.socket_mark = kMark;
  options.mount_bpffs = false;
  auto redirector = Redirector::open(options);
  bool exists = ::access(options.bpffs_dir.c_str(), F_OK) == 0;
  ::rmdir(dir.c_str());
  REQUIRE_FALSE(redirector);
  CHECK(redirector.error().message.find("is not on a bpffs and bpffs_mount is false") !=
        std::string::npos);
  CHECK_FALSE(exists);
}

TEST_CASE("redirectors on different bpffs dirs share nothing") {
  testing::require_privileged_environment();
  OutboundPod f;
  TestBpffs other_dir;
  Redirector other = open_redirector(other_dir.path());
  CHECK(other.pod_cookies().empty());
  mesh(other, f.cookie + 1000);
  CHECK(f.redirector.pod_cookies() == std::vector<uint64_t>{f.cookie});

  auto agent = f.connect_redirected(AF_INET, addr("10.255.1.2", 80));
  REQUIRE(agent);
  SockAddr peer = peer_of(*agent);
  CHECK(f.redirector.original_destination(f.cookie, peer));
  CHECK_FALSE(other.original_destination(f.cookie, peer));
  CHECK(stat(other, WEFT_STAT_CONNECT_REDIRECTED) == 0);
}

namespace {

// (link id, program id) of a pinned bpf_link.
std::pair<uint32_t, uint32_t> pinned_link_ids(const std::string& pin) {
  Fd fd(bpf_obj_get(pin.c_str()));
  if (!fd) {
    throw std::runtime_error("bpf_obj_get " + pin + " failed");
  }
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
    throw std::runtime_error("bpf_obj_get_info_by_fd " + pin + " failed");
  }
  return {info.id, info.prog_id};
}

bool dir_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("redirection survives an agent restart and stops at uninstall") {
  testing::require_privileged_environment();
  OutboundPod f;
  const std::string pin = f.bpffs.path() + "/link_connect4";
  auto first = pinned_link_ids(pin);

  {
    // The agent exits: pinned links and maps keep the pod meshed with no agent running.
    Redirector stopped = std::move(f.redirector);
  }
  REQUIRE(f.connect_redirected(AF_INET, addr("10.255.1.2", 80)));
  f.redirector = open_redirector(f.bpffs.path());
  auto second = pinned_link_ids(pin);
  CHECK(second.first == first.first);    // the same link, updated in place...
  CHECK(second.second != first.second);  // ...to the new program
  CHECK(f.redirector.pod_cookies() == std::vector<uint64_t>{f.cookie});
  {
    auto agent = f.connect_redirected(AF_INET, addr("10.255.1.4", 81));
    REQUIRE(agent);
    auto orig = f.redirector.original_destination(f.cookie, peer_of(*agent));
    REQUIRE(orig);
    CHECK(orig->str() == "10.255.1.4:81");
  }

  {
    // A new agent starting while the old one still runs (rolling update) takes the links over.
    Redirector successor = open_redirector(f.bpffs.path());
    CHECK(pinned_link_ids(pin).first == first.first);
    f.redirector = std::move(successor);
  }
  REQUIRE(f.connect_redirected(AF_INET, addr("10.255.1.5", 82)));

  // uninstall detaches even while this process still holds the links open.
  REQUIRE(Redirector::uninstall(f.bpffs.path()));
  CHECK_FALSE(dir_exists(f.bpffs.path()));
  Fd sock = f.pod.socket(AF_INET, SOCK_STREAM);
  CHECK(goes_direct(sock, addr("10.255.1.2", 80)));
  CHECK_FALSE(accept_within(f.listener4, kNothing));
  CHECK(Redirector::uninstall(f.bpffs.path()));  // idempotent
}

TEST_CASE("pins of another layout version are refused and left working") {
  testing::require_privileged_environment();
  OutboundPod f;
  const std::string abi_pin = f.bpffs.path() + "/weft_abi";
  Fd abi(bpf_obj_get(abi_pin.c_str()));
  REQUIRE(abi);
  uint32_t key = 0;
  uint32_t version = 0;
  REQUIRE(bpf_map_lookup_elem(abi.get(), &key, &version) == 0);
  CHECK(version == WEFT_ABI_VERSION);

  // The pins were made by an agent of another layout (an older or newer version).
  uint32_t other = WEFT_ABI_VERSION + 1;
  REQUIRE(bpf_map_update_elem(abi.get(), &key, &other, BPF_ANY) == 0);
  const std::string pin = f.bpffs.path() + "/link_connect4";
  auto before = pinned_link_ids(pin);
  Options options;
  options.bpffs_dir = f.bpffs.path();
  options.socket_mark = kMark;
  auto refused = Redirector::open(options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("layout version " + std::to_string(other)) !=
        std::string::npos);
  CHECK(refused.error().message.find("weft-agent uninstall") != std::string::npos);
  // Nothing was detached or replaced: the running agent's programs still redirect.
  CHECK(pinned_link_ids(pin) == before);
  CHECK(f.redirector.pod_cookies() == std::vector<uint64_t>{f.cookie});
  CHECK(f.connect_redirected(AF_INET, addr("10.255.1.6", 83)));

  // Back at this build's version, a successor shares the pins again.
  REQUIRE(bpf_map_update_elem(abi.get(), &key, &version, BPF_ANY) == 0);
  Redirector successor = open_redirector(f.bpffs.path());
  CHECK(pinned_link_ids(pin).first == before.first);
}

}  // namespace weft::redirect
