// Relay on a real ring between loopback TCP connections: what the detection read goes first,
// bytes both ways and their counters, half-close in each direction, resets carried across,
// a refused connect (reset, or handed back to be sent elsewhere), and the relay erased only by
// settle() once it is over.
#include "agent/l4/Relay.hpp"

#include <doctest/doctest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/loop/SocketTesting.hpp"

using weft::Fd;
using weft::proxy::FlowPlan;
using weft::proxy::Relay;
using namespace weft::proxy::testing;

namespace {

/// The relay's owner and counters; `finished` once the loop erased it.
struct Fixture final : Relay::Owner {
  RingHarness h;
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter().Name("relay_test").Register(registry);
  prometheus::Family<prometheus::Gauge>& gauges =
      prometheus::BuildGauge().Name("relay_test_open").Register(registry);
  weft::agent::FlowCounters counters{
      &family.Add({{"c", "opened"}}),
      &family.Add({{"c", "closed"}}),
      &gauges.Add({}),
      &family.Add({{"c", "sent"}}),
      &family.Add({{"c", "received"}}),
      &family.Add({{"c", "stalled"}}),
  };
  weft::agent::FlowLog flowlog{"node-t", 8};
  std::unique_ptr<Relay> relay;
  bool finished = false;
  /// What redial() was handed.
  std::optional<weft::proxy::Redial> redialed;
  Fd redialed_app;
  std::vector<uint8_t> redialed_bytes;

  /// A relay from `downstream` to 127.0.0.1:`port`, started.
  void start(Fd downstream, uint16_t port, std::span<const uint8_t> preload = {},
             std::optional<weft::proxy::Redial> redial = std::nullopt) {
    FlowPlan plan;
    plan.target = loopback(port);
    relay = std::make_unique<Relay>(*h.loop, *this, std::move(downstream), tcp_socket(),
                                    std::move(plan), std::vector{counters},
                                    weft::proxy::SourceShare{}, std::move(redial));
    relay->preload(preload);
    relay->start(1000);
  }
  void relay_finished(Relay& r) override {
    CHECK(&r == relay.get());
    relay.reset();
    finished = true;
  }
  void redial(weft::proxy::Redial attempt, const weft::agent::FlowLabels& /*failed*/, Fd app,
              weft::proxy::SourceShare /*share*/, std::vector<uint8_t> received) override {
    redialed = std::move(attempt);
    redialed_app = std::move(app);
    redialed_bytes = std::move(received);
  }
  weft::agent::FlowLog& flows() override { return flowlog; }
  double count(prometheus::Counter* c) const { return c->Value(); }
};

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("Relay: detection bytes first, both directions, half-close each way, then erased") {
  Fixture f;
  auto [app_listener, app_port] = listener();
  Pair client = connected_pair();  // client.peer: the app's client; client.ours: the relay's
  auto head = bytes("GET / HTTP/1.1\r\n");
  f.start(std::move(client.ours), app_port, head);
  f.h.run_until([&] { return f.count(f.counters.opened) == 1; });
  CHECK(f.counters.open->Value() == 1);
  Fd app = accept_one(app_listener);

  // The client sends more and finishes; the app reads the detection bytes first, then the rest,
  // then the end of the stream, and still answers: a half-closed connection carries on.
  auto more = pattern(300 * 1024);
  std::pair<std::vector<uint8_t>, int> at_app;
  std::atomic<bool> app_done = false;
  std::thread app_side([&] {
    at_app = read_to_end(app.get());
    app_done = true;
  });
  std::thread client_side([&] {
    write_all(client.peer.get(), more);
    ::shutdown(client.peer.get(), SHUT_WR);
  });
  f.h.run_until([&] { return app_done.load(); });
  app_side.join();
  client_side.join();
  CHECK(f.count(f.counters.sent) == double(head.size() + more.size()));
  auto expected = head;
  expected.insert(expected.end(), more.begin(), more.end());
  CHECK(at_app.second == 0);
  CHECK(at_app.first == expected);

  auto answer = pattern(2 * 1024 * 1024);
  std::pair<std::vector<uint8_t>, int> at_client;
  std::thread reader([&] { at_client = read_to_end(client.peer.get()); });
  std::thread writer([&] {
    write_all(app.get(), answer);
    ::shutdown(app.get(), SHUT_WR);
  });
  f.h.run_until([&] { return f.finished; });
  reader.join();
  writer.join();
  CHECK(at_client.second == 0);
  CHECK(at_client.first == answer);
  CHECK(f.count(f.counters.received) == double(answer.size()));
  CHECK(f.count(f.counters.opened) == 1);
  CHECK(f.count(f.counters.closed) == 1);
  CHECK(f.counters.open->Value() == 0);
  // The flow history has the connection, allowed, with its bytes each way.
  auto records = f.flowlog.query({});
  REQUIRE(records.size() == 1);
  CHECK(records[0].kind == weft::agent::FlowKind::Connection);
  CHECK(records[0].verdict == weft::agent::FlowVerdict::Allowed);
  CHECK(records[0].sent == head.size() + more.size());
  CHECK(records[0].received == answer.size());
  CHECK(records[0].dst.address->port == app_port);
}

TEST_CASE("Relay: a reset on either side reaches the other as a reset") {
  for (bool app_resets : {true, false}) {
    CAPTURE(app_resets);
    Fixture f;
    auto [app_listener, app_port] = listener();
    Pair client = connected_pair();
    f.start(std::move(client.ours), app_port);
    f.h.run_until([&] { return f.count(f.counters.opened) == 1; });
    Fd app = accept_one(app_listener);
    Fd& resetting = app_resets ? app : client.peer;
    Fd& other = app_resets ? client.peer : app;
    linger lg{1, 0};
    ::setsockopt(resetting.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    resetting = Fd();
    f.h.run_until([&] { return f.finished; });
    auto [got, end] = read_to_end(other.get());
    CHECK(got.empty());
    CHECK(end == ECONNRESET);
    CHECK(f.count(f.counters.closed) == 1);
  }
}

TEST_CASE("Relay: a refused connect resets the client and counts nothing open") {
  Fixture f;
  auto [gone, port] = listener();
  gone = Fd();
  Pair client = connected_pair();
  f.start(std::move(client.ours), port);
  f.h.run_until([&] { return f.finished; });
  auto [got, end] = read_to_end(client.peer.get());
  CHECK(got.empty());
  CHECK(end == ECONNRESET);
  CHECK(f.count(f.counters.opened) == 0);
  CHECK(f.count(f.counters.closed) == 0);
  auto records = f.flowlog.query({});
  REQUIRE(records.size() == 1);
  CHECK(records[0].verdict == weft::agent::FlowVerdict::Failed);
  CHECK(records[0].reason == "connect: Connection refused");
}

TEST_CASE("Relay: a refused connect to a Service's endpoint hands the client back untouched") {
  Fixture f;
  auto [gone, port] = listener();
  gone = Fd();
  Pair client = connected_pair();
  auto head = bytes("PING\r\n");
  f.start(std::move(client.ours), port, head, weft::proxy::Redial{nullptr, loopback(80), {}});
  f.h.run_until([&] { return f.finished; });
  REQUIRE(f.redialed);
  CHECK(f.redialed->tried == std::vector{loopback(port)});
  CHECK(f.redialed_bytes == head);
  REQUIRE(f.redialed_app);
  CHECK(f.count(f.counters.opened) == 0);
  CHECK(f.flowlog.query({}).empty());  // the next endpoint's connection is the one written

  // The client saw nothing: the next endpoint gets what detection read, then the rest.
  auto [app_listener, app_port] = listener();
  Fixture next;
  next.start(std::move(f.redialed_app), app_port, f.redialed_bytes);
  next.h.run_until([&] { return next.count(next.counters.opened) == 1; });
  Fd app = accept_one(app_listener);
  write_all(client.peer.get(), bytes("more"));
  ::shutdown(client.peer.get(), SHUT_WR);
  std::pair<std::vector<uint8_t>, int> at_app;
  std::atomic<bool> app_done = false;
  std::thread app_side([&] {
    at_app = read_to_end(app.get());
    app_done = true;
  });
  next.h.run_until([&] { return app_done.load(); });
  app_side.join();
  CHECK(at_app.first == bytes("PING\r\nmore"));
}
