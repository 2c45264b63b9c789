// SocketIo on a real ring and real loopback TCP: the one socket implementation under relays,
// tunnels and HTTP, so its buffer sizing, send ordering, half-close and close are pinned here.
#include "agent/loop/SocketIo.hpp"

#include <doctest/doctest.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/loop/Loop.hpp"

using weft::Fd;
using weft::IpAddr;
using weft::SockAddr;
using weft::proxy::Loop;
using weft::proxy::Ring;
using weft::proxy::SocketIo;

namespace {

struct Events final : SocketIo::Owner {
  int connected = 1;  ///< 1 until on_connected
  std::vector<uint8_t> received;
  std::vector<std::size_t> chunks;
  int read_end = 1;  ///< 1 until on_read_end
  std::size_t sent = 0;
  std::vector<int> drained;
  int completions = 0;
  SocketIo* io = nullptr;
  bool keep_reading = true;
  bool flush_after_io = true;

  void on_connected(int res) override { connected = res; }
  void on_received(std::span<const uint8_t> bytes) override {
    received.insert(received.end(), bytes.begin(), bytes.end());
    chunks.push_back(bytes.size());
    if (keep_reading) {
      io->read();
    }
  }
  void on_read_end(int res) override { read_end = res; }
  void on_sent(std::size_t bytes) override { sent += bytes; }
  void on_drained(int res) override { drained.push_back(res); }
  void after_io() override {
    ++completions;
    if (flush_after_io) {
      io->flush();
    }
  }
};

/// A ring on this thread and a Loop over it.
struct Harness {
  std::unique_ptr<Ring> ring;
  std::unique_ptr<Loop> loop;

  Harness() {
    auto r = Ring::create(64);
    REQUIRE_MESSAGE(r.has_value(), "io_uring: ", (r ? "" : r.error().message));
    ring = std::move(*r);
    REQUIRE(ring->enable_on_this_thread().has_value());
    loop = std::make_unique<Loop>(0, 1, ring.get());
  }

  /// Runs completions until `done` holds; fails if nothing is left in flight first.
  void run_until(const SocketIo& io, const std::function<bool()>& done) {
    for (int i = 0; i < 100000 && !done(); ++i) {
      REQUIRE_MESSAGE(!io.idle(), "nothing in flight and the condition does not hold");
      REQUIRE(ring->run_once().has_value());
      loop->settle();
    }
    REQUIRE(done());
  }
};

Fd tcp_socket() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  return fd;
}

/// A listener on 127.0.0.1 and its port.
std::pair<Fd, uint16_t> listener() {
  Fd l = tcp_socket();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(l.get(), 8) == 0);
  socklen_t len = sizeof(a);
  REQUIRE(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return {std::move(l), ntohs(a.sin_port)};
}

SockAddr loopback(uint16_t port) {
  return {*IpAddr::parse("127.0.0.1"), port};
}

/// A connected pair: `ours` for the SocketIo, `peer` for the test to drive with plain calls.
struct Pair {
  Fd ours;
  Fd peer;
};

Pair connected_pair(int our_rcvbuf = 0) {
  auto [l, port] = listener();
  Fd ours = tcp_socket();
  if (our_rcvbuf > 0) {
    // Above net.core.rmem_max: needs CAP_NET_ADMIN (the unit tests run as root in CI).
    REQUIRE_MESSAGE(
        ::setsockopt(ours.get(), SOL_SOCKET, SO_RCVBUFFORCE, &our_rcvbuf, sizeof(our_rcvbuf)) == 0,
        "SO_RCVBUFFORCE: ", std::strerror(errno), " (run as root)");
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  REQUIRE(::connect(ours.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  Fd peer(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(peer.get() >= 0);
  return {std::move(ours), std::move(peer)};
}

std::vector<uint8_t> pattern(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(i * 7 + i / 251);
  }
  return v;
}

void write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

/// Writes `data` and the end of the stream from another thread, and returns once all of it
/// waits in `ours`'s receive queue, so that every recv finds more than its buffer holds.
void queue_for_reading(int peer, int ours, const std::vector<uint8_t>& data) {
  std::thread writer([&] {
    write_all(peer, data);
    ::shutdown(peer, SHUT_WR);
  });
  int queued = 0;
  for (int i = 0; i < 5000 && static_cast<std::size_t>(queued) < data.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ::ioctl(ours, SIOCINQ, &queued);
  }
  writer.join();
  REQUIRE_MESSAGE(static_cast<std::size_t>(queued) == data.size(), "only ", queued,
                  " bytes fit in the receive queue");
}

/// Everything the peer reads until the end of the stream, and how it ended (0 or errno).
std::pair<std::vector<uint8_t>, int> read_to_end(int fd) {
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

/// Reads `data`, all of it already waiting in the receive queue, to the end of the stream with
/// `sizing`; the sizes of the reads.
std::vector<std::size_t> read_queued(const std::vector<uint8_t>& data,
                                     SocketIo::ReadBuffer sizing) {
  Harness h;
  Pair p = connected_pair(8 << 20);
  queue_for_reading(p.peer.get(), p.ours.get(), data);
  Events ev;
  SocketIo io(*h.loop, ev, std::move(p.ours), sizing);
  ev.io = &io;
  io.read();
  h.run_until(io, [&] { return ev.read_end != 1; });
  CHECK(ev.read_end == 0);
  CHECK(ev.received == data);
  return ev.chunks;
}

}  // namespace

TEST_CASE("SocketIo: a growing read buffer doubles while reads fill it, up to its maximum") {
  auto chunks = read_queued(pattern(1 << 20), SocketIo::kGrowing);
  REQUIRE(chunks.size() >= 6);
  CHECK(std::vector<std::size_t>(chunks.begin(), chunks.begin() + 6) ==
        std::vector<std::size_t>{16384, 32768, 65536, 131072, 262144, 262144});
}

TEST_CASE("SocketIo: a fixed read buffer stays at its size") {
  CHECK(read_queued(pattern(512 << 10), SocketIo::kMessages) == std::vector<std::size_t>(8, 65536));
}

TEST_CASE("SocketIo: writes leave only on flush, in order, and drain once") {
  Harness h;
  Pair p = connected_pair();
  Events ev;
  ev.flush_after_io = false;
  SocketIo io(*h.loop, ev, std::move(p.ours), SocketIo::kMessages);
  ev.io = &io;

  io.write(std::string_view("HTTP/1.1 200 OK\r\n\r\n"));
  io.write(std::string_view("body"));
  CHECK(io.backlog() == 23);
  uint8_t probe[64];
  CHECK(::recv(p.peer.get(), probe, sizeof(probe), MSG_DONTWAIT) == -1);  // nothing yet
  io.flush();
  h.run_until(io, [&] { return !ev.drained.empty(); });
  CHECK(ev.drained == std::vector<int>{0});
  CHECK(ev.sent == 23);
  CHECK(io.backlog() == 0);
  ssize_t n = ::recv(p.peer.get(), probe, sizeof(probe), 0);
  CHECK(std::string(reinterpret_cast<char*>(probe), static_cast<std::size_t>(n)) ==
        "HTTP/1.1 200 OK\r\n\r\nbody");
}

TEST_CASE("SocketIo: a borrowed send survives short sends, and the FIN waits until it is out") {
  Harness h;
  Pair p = connected_pair();
  auto data = pattern(8 << 20);  // far beyond the socket buffers: short sends are certain
  std::pair<std::vector<uint8_t>, int> got;
  std::thread reader([&] { got = read_to_end(p.peer.get()); });

  Events ev;
  SocketIo io(*h.loop, ev, std::move(p.ours), SocketIo::kGrowing);
  ev.io = &io;
  io.send(data);
  io.shutdown_write();  // asked for at once, sent after the last byte
  CHECK(io.backlog() == data.size());
  h.run_until(io, [&] { return !ev.drained.empty(); });
  reader.join();

  CHECK(ev.drained == std::vector<int>{0});
  CHECK(ev.sent == data.size());
  CHECK(got.second == 0);
  CHECK(got.first.size() == data.size());
  CHECK(got.first == data);
}

TEST_CASE("SocketIo: close(Reset) reaches the peer as a reset, close(Graceful) as the end") {
  for (auto how : {SocketIo::Close::Reset, SocketIo::Close::Graceful}) {
    CAPTURE(static_cast<int>(how));
    Harness h;
    Pair p = connected_pair();
    Events ev;
    {
      SocketIo io(*h.loop, ev, std::move(p.ours), SocketIo::kMessages);
      ev.io = &io;
      io.read();
      io.close(how);
      h.run_until(io, [&] { return io.idle(); });
      CHECK(ev.read_end == 1);  // after close() the owner hears nothing but after_io
      CHECK(ev.completions >= 1);
    }
    auto [bytes, end] = read_to_end(p.peer.get());
    CHECK(bytes.empty());
    CHECK(end == (how == SocketIo::Close::Reset ? ECONNRESET : 0));
  }
}

TEST_CASE("SocketIo: connect reports refusal; what is written while connecting arrives once up") {
  Harness h;
  {
    auto [l, port] = listener();
    l = Fd();  // nobody listens on that port any more
    Events ev;
    SocketIo io(*h.loop, ev, tcp_socket(), SocketIo::kMessages);
    ev.io = &io;
    io.connect(loopback(port), 1000);
    h.run_until(io, [&] { return ev.connected != 1; });
    CHECK(ev.connected == -ECONNREFUSED);
  }
  auto [l, port] = listener();
  Events ev;
  SocketIo io(*h.loop, ev, tcp_socket(), SocketIo::kMessages);
  ev.io = &io;
  io.connect(loopback(port), 1000);
  io.write(std::string_view("hello"));
  io.flush();  // while connecting: held back
  h.run_until(io, [&] { return !ev.drained.empty(); });
  CHECK(ev.connected == 0);
  Fd peer(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  char buf[16];
  ssize_t n = ::recv(peer.get(), buf, sizeof(buf), 0);
  CHECK(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0))) == "hello");
}
