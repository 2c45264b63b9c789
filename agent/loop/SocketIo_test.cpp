// SocketIo on a real ring and real loopback TCP: the one socket implementation under relays,
// tunnels and HTTP, so its buffer sizing, send ordering, half-close and close are pinned here.
#include "agent/loop/SocketIo.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/loop/SocketTesting.hpp"

using weft::Fd;
using weft::proxy::SocketIo;
using namespace weft::proxy::testing;

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

/// Reads `data`, all of it already waiting in the receive queue, to the end of the stream with
/// `sizing`; the sizes of the reads.
std::vector<std::size_t> read_queued(const std::vector<uint8_t>& data,
                                     SocketIo::ReadBuffer sizing) {
  RingHarness h;
  Pair p = connected_pair(8 << 20);
  queue_for_reading(p.peer.get(), p.ours.get(), data);
  Events ev;
  SocketIo io(*h.loop, ev, std::move(p.ours), sizing);
  ev.io = &io;
  io.read();
  h.run_until([&] { return ev.read_end != 1; });
  CHECK(ev.read_end == 0);
  CHECK(ev.received == data);
  return ev.chunks;
}

}  // namespace

TEST_CASE("SocketIo: a growing read buffer doubles while reads fill it, up to its maximum") {
  // The first read takes a pool buffer (16 KiB); once reads fill buffers, the connection's own.
  auto chunks = read_queued(pattern(1 << 20), SocketIo::kGrowing);
  REQUIRE(chunks.size() >= 6);
  CHECK(std::vector<std::size_t>(chunks.begin(), chunks.begin() + 6) ==
        std::vector<std::size_t>{16384, 32768, 65536, 131072, 262144, 262144});
}

TEST_CASE("SocketIo: a fixed read buffer stays at its size") {
  std::vector<std::size_t> expected{16384};
  expected.insert(expected.end(), 7, 65536);
  expected.push_back(49152);  // 512 KiB - 16 KiB - 7 * 64 KiB
  CHECK(read_queued(pattern(512 << 10), SocketIo::kMessages) == expected);
}

TEST_CASE("SocketIo: a connection waiting for bytes holds no read buffer") {
  RingHarness h;
  Pair p = connected_pair();
  Events ev;
  SocketIo io(*h.loop, ev, std::move(p.ours), SocketIo::kGrowing);
  ev.io = &io;
  io.read();
  CHECK(io.read_buffer_bytes() == 0);
  auto big = pattern(64 << 10);  // fills a pool buffer: the next read takes an own buffer
  write_all(p.peer.get(), big);  // fits in the socket buffers
  h.run_until([&] { return ev.received.size() == big.size(); });
  write_all(p.peer.get(), std::span<const uint8_t>(big).first(2));  // small: back to the pool
  h.run_until([&] { return ev.received.size() == big.size() + 2; });
  CHECK(io.read_buffer_bytes() == 0);  // read() was re-armed at once: waiting, with nothing
}

TEST_CASE("SocketIo: when every pool buffer is lent out, reads take buffers of their own") {
  RingHarness h;
  constexpr std::size_t kConnections = weft::proxy::RecvBuffers::kCount + 8;
  std::vector<Pair> pairs;
  std::vector<std::unique_ptr<Events>> events;
  std::vector<std::unique_ptr<SocketIo>> ios;
  for (std::size_t i = 0; i < kConnections; ++i) {
    pairs.push_back(connected_pair());
    events.push_back(std::make_unique<Events>());
    events.back()->keep_reading = false;  // each keeps its bytes, and so its buffer
    ios.push_back(std::make_unique<SocketIo>(*h.loop, *events.back(), std::move(pairs.back().ours),
                                             SocketIo::kGrowing));
    events.back()->io = ios.back().get();
    ios.back()->read();
  }
  for (std::size_t i = 0; i < kConnections; ++i) {
    std::string message = "message " + std::to_string(i);
    write_all(pairs[i].peer.get(),
              {reinterpret_cast<const uint8_t*>(message.data()), message.size()});
  }
  h.run_until([&] {
    return std::all_of(events.begin(), events.end(), [](auto& e) { return !e->chunks.empty(); });
  });
  for (std::size_t i = 0; i < kConnections; ++i) {
    std::string message = "message " + std::to_string(i);
    CHECK(std::string(events[i]->received.begin(), events[i]->received.end()) == message);
  }
  // 128 hold a pool buffer and 8 a buffer of their own, all of the same size.
  CHECK(std::all_of(ios.begin(), ios.end(), [](auto& io) {
    return io->read_buffer_bytes() == weft::proxy::RecvBuffers::kSize;
  }));
}

TEST_CASE("SocketIo: writes leave only on flush, in order, and drain once") {
  RingHarness h;
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
  h.run_until([&] { return !ev.drained.empty(); });
  CHECK(ev.drained == std::vector<int>{0});
  CHECK(ev.sent == 23);
  CHECK(io.backlog() == 0);
  ssize_t n = ::recv(p.peer.get(), probe, sizeof(probe), 0);
  CHECK(std::string(reinterpret_cast<char*>(probe), static_cast<std::size_t>(n)) ==
        "HTTP/1.1 200 OK\r\n\r\nbody");
}

TEST_CASE("SocketIo: a borrowed send survives short sends, and the FIN waits until it is out") {
  RingHarness h;
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
  h.run_until([&] { return !ev.drained.empty(); });
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
    RingHarness h;
    Pair p = connected_pair();
    Events ev;
    {
      SocketIo io(*h.loop, ev, std::move(p.ours), SocketIo::kMessages);
      ev.io = &io;
      io.read();
      io.close(how);
      h.run_until([&] { return io.idle(); });
      CHECK(ev.read_end == 1);  // after close() the owner hears nothing but after_io
      CHECK(ev.completions >= 1);
    }
    auto [bytes, end] = read_to_end(p.peer.get());
    CHECK(bytes.empty());
    CHECK(end == (how == SocketIo::Close::Reset ? ECONNRESET : 0));
  }
}

TEST_CASE("SocketIo: connect reports refusal; what is written while connecting arrives once up") {
  RingHarness h;
  {
    auto [l, port] = listener();
    l = Fd();  // nobody listens on that port any more
    Events ev;
    SocketIo io(*h.loop, ev, tcp_socket(), SocketIo::kMessages);
    ev.io = &io;
    io.connect(loopback(port), 1000);
    h.run_until([&] { return ev.connected != 1; });
    CHECK(ev.connected == -ECONNREFUSED);
  }
  auto [l, port] = listener();
  Events ev;
  SocketIo io(*h.loop, ev, tcp_socket(), SocketIo::kMessages);
  ev.io = &io;
  io.connect(loopback(port), 1000);
  io.write(std::string_view("hello"));
  io.flush();  // while connecting: held back
  h.run_until([&] { return !ev.drained.empty(); });
  CHECK(ev.connected == 0);
  Fd peer = accept_one(l);
  char buf[16];
  ssize_t n = ::recv(peer.get(), buf, sizeof(buf), 0);
  CHECK(std::string(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0))) == "hello");
}
