#include "agent/tunnel/TunnelPool.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <ctime>

using weft::IpAddr;
using weft::identity::SslSessionPtr;
using weft::proxy::kMaxConcurrentStreams;
using weft::proxy::SessionLoad;
using weft::proxy::TicketStore;
using weft::proxy::TunnelKey;
using weft::proxy::TunnelKeyView;
using weft::proxy::TunnelPool;

namespace {

struct FakeSession {
  SessionLoad state{true, 1, 0};
  SessionLoad load() const { return state; }
};

const std::string kClient = "spiffe://cluster.local/ns/default/sa/client";
const std::string kOther = "spiffe://cluster.local/ns/default/sa/other";

TunnelKey key(const std::string& principal, const char* ip) {
  return TunnelKey{principal, *IpAddr::parse(ip)};
}

SslSessionPtr ticket(long created, long lifetime) {
  SslSessionPtr t(SSL_SESSION_new());
  REQUIRE(t);
  SSL_SESSION_set_time(t.get(), created);
  SSL_SESSION_set_timeout(t.get(), lifetime);
  return t;
}

}  // namespace

TEST_CASE("tunnel pool: streams to one destination from one identity share a session") {
  TunnelPool<FakeSession> pool;
  FakeSession a;
  auto k = key(kClient, "10.77.1.5");
  CHECK(pool.find(k, 1) == nullptr);  // nothing pooled: the caller starts a session
  pool.add(k, &a);
  CHECK(pool.find(k, 1) == &a);
  a.state.streams = 500;
  CHECK(pool.find(TunnelKeyView{kClient, *IpAddr::parse("10.77.1.5")}, 1) == &a);
  // Another destination pod, or another source identity, never shares it.
  CHECK(pool.find(key(kClient, "10.77.1.6"), 1) == nullptr);
  CHECK(pool.find(key(kOther, "10.77.1.5"), 1) == nullptr);
}

TEST_CASE("tunnel pool: a session at the stream limit makes room for the next one") {
  TunnelPool<FakeSession> pool;
  FakeSession full;
  FakeSession second;
  auto k = key(kClient, "10.77.1.5");
  pool.add(k, &full);
  full.state.streams = kMaxConcurrentStreams - 1;
  CHECK(pool.find(k, 1) == &full);  // one more fits
  full.state.streams = kMaxConcurrentStreams;
  CHECK(pool.find(k, 1) == nullptr);  // full: start another
  pool.add(k, &second);
  CHECK(pool.find(k, 1) == &second);
  full.state.streams = 10;  // streams ended: the first one, started first, is taken again
  CHECK(pool.find(k, 1) == &full);
}

TEST_CASE("tunnel pool: a renewed certificate starts new sessions") {
  TunnelPool<FakeSession> pool;
  FakeSession old_generation;  // generation 1
  auto k = key(kClient, "10.77.1.5");
  pool.add(k, &old_generation);
  CHECK(pool.find(k, 2) == nullptr);
  FakeSession renewed;
  renewed.state.generation = 2;
  pool.add(k, &renewed);
  CHECK(pool.find(k, 2) == &renewed);
  CHECK(pool.find(k, 1) == &old_generation);
}

TEST_CASE("tunnel pool: failed, draining or removed sessions take no stream") {
  TunnelPool<FakeSession> pool;
  FakeSession a;
  FakeSession b;
  auto k = key(kClient, "10.77.1.5");
  pool.add(k, &a);
  pool.add(k, &b);
  a.state.open = false;  // GOAWAY received, or the handshake failed
  CHECK(pool.find(k, 1) == &b);
  pool.remove(k, &b);
  CHECK(pool.find(k, 1) == nullptr);
  CHECK(pool.keys() == 1);
  pool.remove(k, &a);
  CHECK(pool.keys() == 0);  // no empty lists left behind by pod churn
  pool.remove(k, &a);       // removing twice is harmless
}

TEST_CASE("ticket store: the newest ticket per key, dropped when its lifetime is over") {
  TicketStore tickets;
  long now = static_cast<long>(std::time(nullptr));
  auto k = key(kClient, "10.77.1.5");
  CHECK(tickets.find(k) == nullptr);
  tickets.store(k, ticket(now - 10, 3600));
  SSL_SESSION* first = tickets.find(k);
  CHECK(first != nullptr);
  tickets.store(k, ticket(now, 3600));
  CHECK(tickets.find(k) != first);
  CHECK(tickets.find(key(kOther, "10.77.1.5")) == nullptr);

  auto gone = key(kClient, "10.77.1.9");
  tickets.store(gone, ticket(now - 100, 50));  // expired 50 s ago
  CHECK(tickets.size() == 2);
  tickets.expire(now);
  CHECK(tickets.size() == 1);
  CHECK(tickets.find(gone) == nullptr);
  CHECK(tickets.find(k) != nullptr);
  tickets.expire(now + 3601);  // past the live one's lifetime too
  CHECK(tickets.size() == 0);
}
