#include "agent/tls/TlsChannel.hpp"

#include <doctest/doctest.h>

#include <string>

#include "agent/identity/CertificateBuilder.hpp"
#include "agent/identity/MeshCa.hpp"
#include "agent/identity/TestSupport.hpp"
#include "agent/tls/TlsIdentity.hpp"

namespace weft::tunnel {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr const char* kClientId = "spiffe://cluster.local/ns/demo/sa/client";
constexpr const char* kServerId = "spiffe://cluster.local/ns/demo/sa/echo";

/// A mesh CA and its trust bundle.
struct Mesh {
  identity::MeshCa ca;
  identity::TrustBundle trust;

  static Mesh create() {
    auto ca = identity::MeshCa::create("cluster.local", hours(24), hours(24));
    REQUIRE(ca);
    auto trust = identity::testing::trust_of(*ca);
    return Mesh{std::move(*ca), std::move(trust)};
  }

  /// TLS contexts for `id` with a certificate of this mesh valid over [from, until).
  std::shared_ptr<const TlsIdentity> identity(const std::string& id, const Mesh& trusting,
                                              system_clock::time_point from,
                                              system_clock::time_point until) const {
    auto key = identity::generate_p256_key();
    REQUIRE(key);
    identity::CertificateSpec spec{{}, id, false, -1, from, until};
    auto leaf = identity::sign_certificate(spec, key->get(), ca.issuer.get(), ca.issuer_key.get());
    REQUIRE(leaf);
    X509* chain[] = {leaf->get(), ca.issuer.get()};
    auto tls = TlsIdentity::create(id, 1, key->get(), chain, trusting.trust.store(), hours(1));
    REQUIRE(tls);
    return *tls;
  }

  std::shared_ptr<const TlsIdentity> identity(const std::string& id) const {
    auto now = system_clock::now();
    return identity(id, *this, now - seconds(60), now + hours(1));
  }
};

struct Tickets final : TicketSink {
  SslSessionPtr last;
  void store_ticket(SslSessionPtr ticket) override { last = std::move(ticket); }
};

/// Moves ciphertext both ways until neither side has anything to say; returns the last
/// handshake status of each side.
std::pair<TlsChannel::Status, TlsChannel::Status> pump(TlsChannel& client, TlsChannel& server) {
  TlsChannel::Status c = TlsChannel::Status::WantMore;
  TlsChannel::Status s = TlsChannel::Status::WantMore;
  for (int round = 0; round < 10; ++round) {
    c = client.handshake();
    std::vector<uint8_t> wire;
    client.take_output(wire);
    server.feed(reinterpret_cast<const char*>(wire.data()), wire.size());
    s = server.handshake();
    wire.clear();
    server.take_output(wire);
    if (wire.empty() && client.handshake_done() && server.handshake_done()) {
      break;
    }
    client.feed(reinterpret_cast<const char*>(wire.data()), wire.size());
    if (c == TlsChannel::Status::Failed || s == TlsChannel::Status::Failed) {
      break;
    }
  }
  return {c, s};
}

std::string transfer(TlsChannel& from, TlsChannel& to, const std::string& text) {
  REQUIRE(from.write(reinterpret_cast<const uint8_t*>(text.data()), text.size()) ==
          TlsChannel::Status::Ok);
  std::vector<uint8_t> wire;
  from.take_output(wire);
  to.feed(reinterpret_cast<const char*>(wire.data()), wire.size());
  std::string out(text.size() + 64, '\0');
  std::size_t got = 0;
  CHECK(to.read(reinterpret_cast<uint8_t*>(out.data()), out.size(), got) == TlsChannel::Status::Ok);
  out.resize(got);
  return out;
}

TEST_CASE("two agents' channels agree on TLS 1.3 and h2 and learn each other's SPIFFE ID") {
  auto mesh = Mesh::create();
  auto client_id = mesh.identity(kClientId);
  auto server_id = mesh.identity(kServerId);
  Tickets tickets;
  {
    auto client = TlsChannel::client(client_id->client.get(), nullptr, &tickets);
    auto server = TlsChannel::server(server_id->server.get());
    REQUIRE((client && server));
    pump(*client, *server);
    REQUIRE(client->handshake_done());
    REQUIRE(server->handshake_done());
    CHECK(SSL_version(client->ssl()) == TLS1_3_VERSION);
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(server->ssl(), &alpn, &alpn_len);
    CHECK(std::string(reinterpret_cast<const char*>(alpn), alpn_len) == "h2");
    CHECK(peer_spiffe_id(client->ssl()) == kServerId);
    CHECK(peer_spiffe_id(server->ssl()) == kClientId);
    CHECK(transfer(*client, *server, "over the tunnel") == "over the tunnel");
    CHECK(transfer(*server, *client, "and back") == "and back");
  }  // both ends go away without close_notify, as an idle tunnel does

  // The ticket came with the server's first records; a later channel resumes with it and
  // still knows who the server is.
  REQUIRE(tickets.last);
  auto again = TlsChannel::client(client_id->client.get(), tickets.last.get(), &tickets);
  auto server2 = TlsChannel::server(server_id->server.get());
  REQUIRE((again && server2));
  pump(*again, *server2);
  REQUIRE(again->handshake_done());
  CHECK(again->resumed());
  CHECK(server2->resumed());
  CHECK(peer_spiffe_id(again->ssl()) == kServerId);
  CHECK(peer_spiffe_id(server2->ssl()) == kClientId);
}

TEST_CASE("a peer from another trust anchor or with an expired certificate fails verification") {
  auto mesh = Mesh::create();
  auto stranger = Mesh::create();
  auto client_id = mesh.identity(kClientId);
  auto now = system_clock::now();
  SUBCASE("another trust anchor") {
    auto foreign = stranger.identity(kServerId, stranger, now - seconds(60), now + hours(1));
    auto client = TlsChannel::client(client_id->client.get(), nullptr, nullptr);
    auto server = TlsChannel::server(foreign->server.get());
    REQUIRE((client && server));
    auto [c, s] = pump(*client, *server);
    CHECK(c == TlsChannel::Status::Failed);
    CHECK(client->verify_failed());
    CHECK(client->failure().find("unable to get local issuer") != std::string::npos);
  }
  SUBCASE("expired") {
    auto expired = mesh.identity(kServerId, mesh, now - hours(2), now - hours(1));
    auto client = TlsChannel::client(client_id->client.get(), nullptr, nullptr);
    auto server = TlsChannel::server(expired->server.get());
    REQUIRE((client && server));
    auto [c, s] = pump(*client, *server);
    CHECK(c == TlsChannel::Status::Failed);
    CHECK(client->verify_failed());
    CHECK(client->failure().find("expired") != std::string::npos);
  }
}

TEST_CASE("take_output hands over the records without copying into an empty vector") {
  auto mesh = Mesh::create();
  auto client_id = mesh.identity(kClientId);
  auto client = TlsChannel::client(client_id->client.get(), nullptr, nullptr);
  REQUIRE(client);
  client->handshake();  // the ClientHello
  std::vector<uint8_t> wire;
  std::size_t n = client->take_output(wire);
  CHECK(n > 0);
  CHECK(wire.size() == n);
  CHECK(wire[0] == 0x16);  // a handshake record
  CHECK(client->take_output(wire) == 0);
  CHECK(wire.size() == n);
}

}  // namespace
}  // namespace weft::tunnel
