// For unit tests of objects that do socket I/O on the ring (SocketIo, Relay): a ring and Loop on
// the test's thread, loopback TCP listeners and connected pairs, and blocking helpers for the
// test's own end of a connection.
#pragma once

#include <doctest/doctest.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "agent/loop/Loop.hpp"
#include "agent/loop/Ring.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy::testing {

/// A ring on this thread and a Loop over it.
struct RingHarness {
  std::unique_ptr<Ring> ring;
  std::unique_ptr<Loop> loop;

  RingHarness() {
    auto r = Ring::create(64);
    REQUIRE_MESSAGE(r.has_value(), "io_uring: ", (r ? "" : r.error().message));
    ring = std::move(*r);
    REQUIRE(ring->enable_on_this_thread().has_value());
    loop = std::make_unique<Loop>(0, 1, ring.get());
  }

  /// Runs batches of completions (each followed by settle(), as the worker does) until `done`
  /// holds, for at most 10 s; a guard timeout wakes the ring when nothing else completes.
  void run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (!guard_.armed) {
        guard_.armed = true;
        io_uring_prep_timeout(ring->prepare(&guard_), &guard_.interval, 0, 0);
      }
      REQUIRE(ring->run_once().has_value());
      loop->settle();
    }
    REQUIRE_MESSAGE(done(), "the condition did not hold within 10 s");
  }

 private:
  struct Guard final : Operation {
    bool armed = false;
    __kernel_timespec interval{0, 50'000'000};
    void complete(int /*res*/, unsigned /*flags*/) override { armed = false; }
  };
  Guard guard_;
};

inline Fd tcp_socket() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  return fd;
}

inline SockAddr loopback(uint16_t port) {
  return {*IpAddr::parse("127.0.0.1"), port};
}

/// A listener on 127.0.0.1 and its port.
inline std::pair<Fd, uint16_t> listener() {
  Fd l = tcp_socket();
  sockaddr_storage ss{};
  socklen_t len = loopback(0).to_sockaddr(ss);
  REQUIRE(::bind(l.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0);
  REQUIRE(::listen(l.get(), 8) == 0);
  REQUIRE(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0);
  return {std::move(l), ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)};
}

inline Fd accept_one(const Fd& listener) {
  Fd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(fd.get() >= 0);
  return fd;
}

/// A blocking connect to 127.0.0.1:`port`.
inline Fd connect_to(uint16_t port, int rcvbuf = 0) {
  Fd fd = tcp_socket();
  if (rcvbuf > 0) {
    // Above net.core.rmem_max: needs CAP_NET_ADMIN (the unit tests run as root in CI).
    REQUIRE_MESSAGE(
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) == 0,
        "SO_RCVBUFFORCE: ", std::strerror(errno), " (run as root)");
  }
  sockaddr_storage ss{};
  socklen_t len = loopback(port).to_sockaddr(ss);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0);
  return fd;
}

/// A connected pair: `ours` for the object under test, `peer` for the test's plain calls.
struct Pair {
  Fd ours;
  Fd peer;
};

inline Pair connected_pair(int our_rcvbuf = 0) {
  auto [l, port] = listener();
  Fd ours = connect_to(port, our_rcvbuf);
  return {std::move(ours), accept_one(l)};
}

inline std::vector<uint8_t> pattern(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(i * 7 + i / 251);
  }
  return v;
}

inline void write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

/// Everything read from `fd` until the end of the stream, and how it ended (0 or errno).
inline std::pair<std::vector<uint8_t>, int> read_to_end(int fd) {
  std::vector<uint8_t> out;
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      return {out, n == 0 ? 0 : errno};
    }
    out.insert(out.end(), buf, buf + n);
  }
}

/// Writes `data` and the end of the stream from another thread, and returns once all of it
/// waits in `reader`'s receive queue, so that every recv finds more than its buffer holds.
inline void queue_for_reading(int writer, int reader, const std::vector<uint8_t>& data) {
  std::thread t([&] {
    write_all(writer, data);
    ::shutdown(writer, SHUT_WR);
  });
  int queued = 0;
  for (int i = 0; i < 5000 && static_cast<std::size_t>(queued) < data.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ::ioctl(reader, SIOCINQ, &queued);
  }
  t.join();
  REQUIRE_MESSAGE(static_cast<std::size_t>(queued) == data.size(), "only ", queued,
                  " bytes fit in the receive queue");
}

}  // namespace weft::proxy::testing
