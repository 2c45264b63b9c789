#include "agent/redirect/testing/TestNet.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "agent/redirect/Mounts.hpp"
#include "agent/redirect/Redirector.hpp"

extern char** environ;

namespace weft::testing {
namespace {

std::atomic<int> next_id{0};

std::string unique_suffix() {
  return std::to_string(::getpid()) + "-" + std::to_string(next_id++);
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

void run_command(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  std::string line;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
    line += a + " ";
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  if (int err = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ); err != 0) {
    throw std::runtime_error("spawn " + line + ": " + std::strerror(err));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw_errno("waitpid " + line);
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("command failed: " + line);
  }
}

void require_privileged_environment() {
  if (::geteuid() != 0) {
    throw std::runtime_error("redirect tests need root (BPF, bpffs mounts, netns)");
  }
  struct stat st {};
  if (::stat("/sys/kernel/btf/vmlinux", &st) != 0) {
    throw std::runtime_error("redirect tests need a kernel with BTF (/sys/kernel/btf/vmlinux)");
  }
  if (!redirect::cgroup2_mount_point()) {
    throw std::runtime_error("redirect tests need cgroup v2 mounted");
  }
  if (::access("/proc/self/ns/net", R_OK) != 0) {
    throw std::runtime_error("redirect tests need network namespaces");
  }
}

TestNetns::TestNetns() : name_("weft-rt-" + unique_suffix()) {
  run_command({"ip", "netns", "add", name_});
  fd_.reset(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
  try {
    if (!fd_) {
      throw_errno("open netns " + name_);
    }
    run_command({"ip", "-n", name_, "link", "set", "lo", "up"});
  } catch (...) {
    // The destructor does not run for a half-built object.
    run_command({"ip", "netns", "del", name_});
    throw;
  }
}

TestNetns::~TestNetns() {
  fd_.reset();
  try {
    run_command({"ip", "netns", "del", name_});
  } catch (const std::exception&) {
    // Already gone or never fully created; nothing else to undo.
  }
}

Fd TestNetns::socket(int domain, int type) {
  Fd sock = run([&] { return Fd(::socket(domain, type | SOCK_CLOEXEC, 0)); });
  if (!sock) {
    throw_errno("socket in " + name_);
  }
  return sock;
}

uint64_t TestNetns::cookie() {
  Fd sock = socket(AF_INET, SOCK_DGRAM);
  auto cookie = redirect::netns_cookie_of_socket(sock.get());
  if (!cookie) {
    throw std::runtime_error(cookie.error().message);
  }
  return *cookie;
}

int TestNetns::ifindex(const std::string& ifname) {
  int index = run([&] { return static_cast<int>(::if_nametoindex(ifname.c_str())); });
  if (index == 0) {
    throw_errno("if_nametoindex " + ifname + " in " + name_);
  }
  return index;
}

void make_veth(TestNetns& a, const std::string& a_if, const std::string& a_cidr, TestNetns& b,
               const std::string& b_if, const std::string& b_cidr) {
  run_command({"ip", "-n", a.name(), "link", "add", a_if, "type", "veth", "peer", "name", b_if,
               "netns", b.name()});
  run_command({"ip", "-n", a.name(), "addr", "add", a_cidr, "dev", a_if});
  run_command({"ip", "-n", b.name(), "addr", "add", b_cidr, "dev", b_if});
  run_command({"ip", "-n", a.name(), "link", "set", a_if, "up"});
  run_command({"ip", "-n", b.name(), "link", "set", b_if, "up"});
}

TestBpffs::TestBpffs() {
  char tmpl[] = "/tmp/weft-rt-bpffs-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    throw_errno("mkdtemp");
  }
  root_ = tmpl;
  path_ = root_ + "/weft";
}

TestBpffs::~TestBpffs() {
  [[maybe_unused]] auto ok = redirect::Redirector::uninstall(path_);
  if (redirect::on_bpffs(root_)) {
    ::umount2(root_.c_str(), MNT_DETACH);
  }
  ::rmdir(root_.c_str());
}

void listen_on(const Fd& sock, const SockAddr& addr) {
  int one = 1;
  ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (addr.ip.family == AF_INET6) {
    ::setsockopt(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  sockaddr_storage ss{};
  socklen_t len = addr.to_sockaddr(ss);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    throw_errno("bind " + addr.str());
  }
  if (::listen(sock.get(), 16) != 0) {
    throw_errno("listen " + addr.str());
  }
}

int connect_to(const Fd& sock, const SockAddr& addr) {
  sockaddr_storage ss{};
  socklen_t len = addr.to_sockaddr(ss);
  if (addr.ip.family == AF_INET) {
    // A v6 socket needs the v4-mapped form; the caller picks the family by the socket.
    int domain = 0;
    socklen_t dlen = sizeof(domain);
    ::getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &dlen);
    if (domain == AF_INET6) {
      sockaddr_in6 mapped{};
      mapped.sin6_family = AF_INET6;
      mapped.sin6_port = htons(addr.port);
      mapped.sin6_addr.s6_addr[10] = 0xff;
      mapped.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&mapped.sin6_addr.s6_addr[12], addr.ip.bytes.data(), 4);
      std::memcpy(&ss, &mapped, sizeof(mapped));
      len = sizeof(mapped);
    }
  }
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return errno;
  }
  return 0;
}

Fd accept_within(const Fd& listener, std::chrono::milliseconds timeout) {
  pollfd p{listener.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    return Fd();
  }
  return Fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
}

SockAddr local_of(const Fd& sock) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    throw_errno("getsockname");
  }
  return SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value();
}

SockAddr peer_of(const Fd& sock) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(sock.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    throw_errno("getpeername");
  }
  return SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value();
}

SockAddr addr(const char* text, uint16_t port) {
  auto ip = IpAddr::parse(text);
  if (!ip) {
    throw std::runtime_error(std::string("bad test address ") + text);
  }
  return SockAddr{*ip, port};
}

}  // namespace weft::testing
