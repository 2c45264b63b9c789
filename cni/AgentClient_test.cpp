#include "cni/AgentClient.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "cni/TestSupport.hpp"

using namespace weft::cni;
using weft::PodRegistration;
using weft::cni::testing::FakeAgent;
using weft::cni::testing::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

PodRegistration sample(PodRegistration::Op op = PodRegistration::Op::Add) {
  PodRegistration reg;
  reg.op = op;
  reg.container_id = "abc123";
  reg.netns = "/var/run/netns/p1";
  reg.ifname = "eth0";
  reg.ips = {"10.244.1.5/24"};
  reg.pod_name = "web-0";
  reg.pod_namespace = "demo";
  reg.pod_uid = "u-1";
  return reg;
}

}  // namespace

TEST_CASE("agent client: an accepting agent receives the registration") {
  TempDir dir;
  auto socket = (dir.path() / "cni.sock").string();
  FakeAgent agent(socket, FakeAgent::Behaviour::Accept);
  AgentClient client(socket, std::chrono::milliseconds(2000));
  auto ok = client.submit(sample());
  REQUIRE(ok);
  auto got = agent.requests();
  REQUIRE(got.size() == 1);
  CHECK(got[0].op == PodRegistration::Op::Add);
  CHECK(got[0].container_id == "abc123");
  CHECK(got[0].ips == std::vector<std::string>{"10.244.1.5/24"});
  CHECK(got[0].pod_namespace == "demo");
}

TEST_CASE("agent client: a refusal is error 999 carrying the agent's reason") {
  TempDir dir;
  auto socket = (dir.path() / "cni.sock").string();
  FakeAgent agent(socket, FakeAgent::Behaviour::Refuse, "netns /var/run/netns/p1 not found");
  auto result = AgentClient(socket, std::chrono::milliseconds(2000)).submit(sample());
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::AgentRefused);
  CHECK(result.error().details == "netns /var/run/netns/p1 not found");
}

TEST_CASE("agent client: an agent that accepts but never answers is error 11 within timeout") {
  TempDir dir;
  auto socket = (dir.path() / "cni.sock").string();
  FakeAgent agent(socket, FakeAgent::Behaviour::Silent);
  constexpr auto kTimeout = std::chrono::milliseconds(300);
  auto start = Clock::now();
  auto result = AgentClient(socket, kTimeout).submit(sample());
  auto took = Clock::now() - start;
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::TryAgainLater);
  CHECK(result.error().msg.find(socket) != std::string::npos);
  CHECK(result.error().details.find("timed out") != std::string::npos);
  CHECK(took >= kTimeout);
  CHECK(took < kTimeout + std::chrono::milliseconds(1000));
}

TEST_CASE("agent client: unreachable agents are error 11 naming the socket") {
  TempDir dir;
  auto missing = (dir.path() / "missing.sock").string();
  auto start = Clock::now();
  auto result = AgentClient(missing, std::chrono::milliseconds(2000)).submit(sample());
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::TryAgainLater);
  CHECK(result.error().msg.find(missing) != std::string::npos);
  CHECK(result.error().details.find("No such file or directory") != std::string::npos);
  // Nothing to wait for: a missing socket fails at once, not at the deadline.
  CHECK(Clock::now() - start < std::chrono::milliseconds(1000));

  SUBCASE("a socket file nobody listens on is ECONNREFUSED") {
    auto stale = (dir.path() / "stale.sock").string();
    // Bound but never listening, as a socket file left behind by a dead agent behaves.
    weft::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, stale.data(), stale.size());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    fd.reset();
    auto refused = AgentClient(stale, std::chrono::milliseconds(2000)).submit(sample());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::TryAgainLater);
    CHECK(refused.error().details.find("Connection refused") != std::string::npos);
  }

  SUBCASE("an agent that hangs up without answering") {
    auto sock = (dir.path() / "hangup.sock").string();
    FakeAgent agent(sock, FakeAgent::Behaviour::CloseAtOnce);
    auto r = AgentClient(sock, std::chrono::milliseconds(2000)).submit(sample());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::TryAgainLater);
  }
}

TEST_CASE("agent client: exchange returns the raw reply for each op") {
  TempDir dir;
  auto socket = (dir.path() / "cni.sock").string();
  FakeAgent agent(socket, FakeAgent::Behaviour::Accept, {}, 3);
  AgentClient client(socket, std::chrono::milliseconds(2000));
  for (auto op : {PodRegistration::Op::Add, PodRegistration::Op::Check, PodRegistration::Op::Del}) {
    auto reply = client.exchange(sample(op));
    REQUIRE(reply);
    CHECK(reply->ok);
  }
  auto got = agent.requests();
  REQUIRE(got.size() == 3);
  CHECK(got[2].op == PodRegistration::Op::Del);
}
