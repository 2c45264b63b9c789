// L7Exchange driven without a ring or sockets: the client's side is a recording ExchangePeer,
// the endpoint an in-memory HTTP/2 pair (the agent's pooled session and the app's), the clock
// and deadlines those of a Loop moved by hand.
#include "agent/http/L7Exchange.hpp"

#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/http/ExchangeOwner.hpp"
#include "agent/http/HttpTarget.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tap/TapHub.hpp"

using namespace weft;
using namespace weft::proxy;
using std::chrono::milliseconds;

namespace {

/// The app that made the request, as the exchange sees its connection.
struct Client final : ExchangePeer {
  std::vector<l7::Headers> heads;
  std::vector<uint32_t> resets;
  void send_head(l7::Headers head, bool /*has_body*/) override { heads.push_back(std::move(head)); }
  void resume() override {}
  void consume(std::size_t /*n*/) override {}
  void reset(uint32_t error_code) override { resets.push_back(error_code); }
  void detach() override {}

  std::string status() const {
    const std::string* s = heads.empty() ? nullptr : l7::find_header(heads.back(), ":status");
    return s != nullptr ? *s : "";
  }
  std::string grpc_status() const {
    const std::string* s = heads.empty() ? nullptr : l7::find_header(heads.back(), "grpc-status");
    return s != nullptr ? *s : "";
  }
};

/// One request as the endpoint's app received it; its body is not read. Its response body is
/// empty, or never comes (`hold`).
struct Received final : l7::H2Stream {
  bool hold = false;
  void on_headers(l7::Headers /*headers*/, bool /*end_stream*/) override {}
  void on_data(std::span<const uint8_t> /*data*/) override {}
  void on_end_stream() override {}
  void on_close(uint32_t /*error_code*/) override {}
  l7::BodyChunk read_body(uint8_t* /*out*/, std::size_t /*max*/) override {
    return {0, hold ? l7::BodyChunk::State::Deferred : l7::BodyChunk::State::End};
  }
  l7::Headers trailers() override { return {}; }
};

/// The pooled connection to the endpoint (the agent's client session) and the endpoint's app
/// (a server session), joined in memory.
struct Endpoint final : H2Carrier, l7::H2Session::Acceptor {
  l7::H2Session agent{l7::H2Session::Role::Client, l7::H2Limits{}};
  l7::H2Session app{l7::H2Session::Role::Server, l7::H2Limits{}, this};
  std::vector<int32_t> requests;  ///< stream ids, in arrival order
  Received received;

  l7::H2Session& session() override { return agent; }
  void touch() override {}
  void flush_pending() override {}
  l7::H2Stream* accept_stream(int32_t id, const l7::Headers& /*head*/, bool /*end*/) override {
    requests.push_back(id);
    return &received;
  }
  /// Moves the frames both ways until neither side has anything to send.
  void pump() {
    for (int i = 0; i < 16; ++i) {
      std::vector<uint8_t> out;
      REQUIRE(agent.produce(out));
      std::vector<uint8_t> back;
      if (!out.empty()) {
        REQUIRE(app.receive(out));
      }
      REQUIRE(app.produce(back));
      if (!back.empty()) {
        REQUIRE(agent.receive(back));
      }
      if (out.empty() && back.empty()) {
        return;
      }
    }
    FAIL("the sessions never went quiet");
  }
  /// The app answers the last request with a head alone (END_STREAM on it).
  void answer(l7::Headers head) {
    REQUIRE(!requests.empty());
    REQUIRE(app.submit_response(requests.back(), std::move(head), false) == 0);
    pump();
  }
  /// The app answers with a head whose body is still to come, then resets the stream.
  void answer_then_reset(l7::Headers head) {
    received.hold = true;
    REQUIRE(app.submit_response(requests.back(), std::move(head), true) == 0);
    pump();
    app.reset(requests.back(), NGHTTP2_INTERNAL_ERROR);
    pump();
  }
};

/// The connection the request came on: routes every request to the one endpoint under `rule`.
struct Owner final : ExchangeOwner {
  Loop events{0, 7, nullptr};
  l7::RetryBudget budget;
  prometheus::Registry registry;
  agent::RequestMetrics metrics{registry};
  agent::TapHub taps{"node-t", {}, registry};
  agent::FlowLog flowlog{"node-t", 16};
  agent::MeshedPod caller{0, {}, {*IpAddr::parse("10.0.0.5")}, *Netns::current(), 0};
  std::shared_ptr<HttpTarget> target;
  discovery::RouteRule rule;
  bool has_rule = true;
  Endpoint app;
  EndpointState state{l7::PeakEwma(milliseconds(30), std::chrono::seconds(10), events.now()),
                      l7::CircuitBreaker()};
  int routed = 0;
  int erased = 0;

  Owner() {
    FlowPlan plan;
    plan.target = *SockAddr::parse("10.1.0.7:8080");
    plan.labels.reporter = "source";
    plan.labels.source = {"shop", "prod", "spiffe://td/ns/prod/sa/shop"};
    plan.labels.destination = {"cart", "prod", "spiffe://td/ns/prod/sa/cart"};
    target = std::make_shared<HttpTarget>(std::move(plan), metrics);
    caller.registration.pod_name = "shop-1";
    caller.registration.pod_namespace = "prod";
  }
  Loop& loop() override { return events; }
  l7::RetryBudget& retry_budget(const SockAddr& /*service*/) override { return budget; }
  Routed route(const l7::Headers& /*head*/, const Avoid& /*avoid*/) override {
    ++routed;
    Routed r;
    r.target = target;
    r.rule = has_rule ? &rule : nullptr;
    return r;
  }
  Refusal refusal() const override { return Refusal::Reroute; }
  Result<UpstreamLink> upstream(const HttpTarget& /*target*/) override {
    return UpstreamLink{&app, nullptr};
  }
  EndpointState* endpoint(const HttpTarget& /*target*/) override { return &state; }
  void erase(L7Exchange* /*exchange*/) override { ++erased; }
  agent::TapHub& tap() override { return taps; }
  agent::FlowLog& flows() override { return flowlog; }
  const agent::MeshedPod& pod() const override { return caller; }

  /// Moves the loop's clock to its next deadline and fires it; how long that was from now.
  milliseconds fire_next_deadline() {
    auto due = events.next_deadline();
    REQUIRE(due);
    auto waited = std::chrono::duration_cast<milliseconds>(*due - events.now());
    events.set_now(*due);
    events.expire_deadlines(*due);
    app.pump();
    return waited;
  }
};

l7::Headers get() {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "cart"}, {":path", "/items"}};
}

l7::Headers grpc_call() {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":authority", "cart"},
          {":path", "/cart.Cart/Get"},
          {"content-type", "application/grpc"},
          {"te", "trailers"}};
}

/// Starts one exchange for `head` (a request without a body) and lets it reach the endpoint.
std::unique_ptr<L7Exchange> send(Owner& owner, Client& client, l7::Headers head) {
  auto x = std::make_unique<L7Exchange>(owner, &client);
  x->downstream_stream()->on_headers(std::move(head), true);
  owner.app.pump();
  return x;
}

discovery::RouteRule retry_on(std::vector<uint16_t> codes, uint32_t attempts) {
  discovery::RouteRule rule;
  rule.retry = discovery::RouteRetry{std::move(codes), attempts, milliseconds(40)};
  return rule;
}

}  // namespace

TEST_CASE(
    "exchange: a 503 the rule retries goes again after the backoff; the client sees only "
    "the answer to the retry") {
  Owner owner;
  owner.rule = retry_on({503}, 2);
  Client client;
  auto x = send(owner, client, get());
  REQUIRE(owner.app.requests.size() == 1);
  owner.app.answer({{":status", "503"}});
  CHECK(client.heads.empty());            // nothing reached the client
  CHECK(owner.app.requests.size() == 1);  // not before the backoff
  owner.fire_next_deadline();
  CHECK(owner.routed == 2);
  REQUIRE(owner.app.requests.size() == 2);
  owner.app.answer({{":status", "200"}});
  CHECK(client.status() == "200");
  CHECK(client.heads.size() == 1);
}

TEST_CASE("exchange: a gRPC UNAVAILABLE answered trailers-only is retried") {
  Owner owner;
  owner.rule = retry_on({14}, 1);
  Client client;
  auto x = send(owner, client, grpc_call());
  owner.app.answer(
      {{":status", "200"}, {"content-type", "application/grpc"}, {"grpc-status", "14"}});
  CHECK(client.heads.empty());
  owner.fire_next_deadline();
  REQUIRE(owner.app.requests.size() == 2);
  owner.app.answer(
      {{":status", "200"}, {"content-type", "application/grpc"}, {"grpc-status", "0"}});
  CHECK(client.grpc_status() == "0");
}

TEST_CASE("exchange: the backoff is at least the rule's, at most half more, doubling per retry") {
  // Many exchanges, each its own random draw: every wait stays within [b, 1.5 b).
  for (int i = 0; i < 40; ++i) {
    Owner owner;
    owner.rule = retry_on({503}, 3);
    owner.events.random() = l7::FastRandom(static_cast<uint64_t>(i) * 7919 + 1);
    Client client;
    auto x = send(owner, client, get());
    owner.app.answer({{":status", "503"}});
    milliseconds first = owner.fire_next_deadline();
    CHECK(first >= milliseconds(40));
    CHECK(first < milliseconds(60));
    owner.app.answer({{":status", "503"}});
    milliseconds second = owner.fire_next_deadline();
    CHECK(second >= milliseconds(80));
    CHECK(second < milliseconds(120));
    owner.app.answer({{":status", "503"}});
    milliseconds third = owner.fire_next_deadline();
    CHECK(third >= milliseconds(160));
    CHECK(third < milliseconds(240));
    // Three retries were allowed: the fourth answer goes to the client as it is.
    owner.app.answer({{":status", "503"}});
    CHECK(client.status() == "503");
    CHECK(owner.app.requests.size() == 4);
  }
}

TEST_CASE(
    "exchange: no retry beyond the rule's attempts, for a code it does not name, for a "
    "POST, or without budget") {
  Client client;
  SUBCASE("attempts") {
    Owner owner;
    owner.rule = retry_on({503}, 1);
    auto x = send(owner, client, get());
    owner.app.answer({{":status", "503"}});
    owner.fire_next_deadline();
    owner.app.answer({{":status", "503"}});
    CHECK(owner.app.requests.size() == 2);
    CHECK(client.status() == "503");
  }
  SUBCASE("a code the rule does not name") {
    Owner owner;
    owner.rule = retry_on({503}, 2);
    auto x = send(owner, client, get());
    owner.app.answer({{":status", "500"}});
    CHECK(owner.app.requests.size() == 1);
    CHECK(client.status() == "500");
  }
  SUBCASE("a method that is not idempotent") {
    Owner owner;
    owner.rule = retry_on({503}, 2);
    l7::Headers post = get();
    post[0].value = "POST";
    auto x = send(owner, client, post);
    owner.app.answer({{":status", "503"}});
    CHECK(owner.app.requests.size() == 1);
    CHECK(client.status() == "503");
  }
  SUBCASE("the retry budget is spent") {
    Owner owner;
    owner.rule = retry_on({503}, 2);
    owner.budget = l7::RetryBudget(l7::RetryBudgetPolicy{0.0, 0, std::chrono::seconds(10)});
    auto x = send(owner, client, get());
    owner.app.answer({{":status", "503"}});
    CHECK(owner.app.requests.size() == 1);
    CHECK(client.status() == "503");
  }
  CHECK(client.heads.size() == 1);
}

TEST_CASE("exchange: once the response has started, a failure is passed on, not retried") {
  Owner owner;
  owner.rule = retry_on({503}, 2);
  Client client;
  auto x = send(owner, client, get());
  owner.app.answer_then_reset({{":status", "200"}});
  CHECK(client.status() == "200");
  CHECK(owner.app.requests.size() == 1);
  CHECK_FALSE(owner.events.next_deadline());  // no retry scheduled
  CHECK(client.resets.size() == 1);           // the client's stream is reset too
}

TEST_CASE("exchange: the route's request timeout answers 504, a gRPC call DEADLINE_EXCEEDED") {
  Client client;
  Owner owner;
  owner.rule.timeouts.request = milliseconds(300);
  SUBCASE("HTTP") {
    auto x = send(owner, client, get());
    CHECK(owner.fire_next_deadline() == milliseconds(300));
    CHECK(client.status() == "504");
  }
  SUBCASE("gRPC") {
    auto x = send(owner, client, grpc_call());
    CHECK(owner.fire_next_deadline() == milliseconds(300));
    CHECK(client.status() == "200");
    CHECK(client.grpc_status() == "4");
  }
}

TEST_CASE("exchange: a client's grpc-timeout sooner than the route's is the deadline") {
  Client client;
  Owner owner;
  owner.rule.timeouts.request = milliseconds(300);
  l7::Headers call = grpc_call();
  call.push_back({"grpc-timeout", "50m"});
  auto x = send(owner, client, call);
  CHECK(owner.fire_next_deadline() == milliseconds(50));
  CHECK(client.grpc_status() == "4");
  // Without a route rule the client's own deadline still holds.
  Client alone;
  Owner no_rule;
  no_rule.has_rule = false;
  auto y = send(no_rule, alone, call);
  CHECK(no_rule.fire_next_deadline() == milliseconds(50));
  CHECK(alone.grpc_status() == "4");
}

TEST_CASE(
    "exchange: while a tap session is open, a finished request is one event with its answer, "
    "its retries and its secrets redacted") {
  Owner owner;
  owner.rule = retry_on({503}, 2);
  owner.rule.metric_route = "cart/r|rule-0";
  auto session = owner.taps.open({}, 0, "test");
  REQUIRE(session);
  Client client;
  l7::Headers head = get();
  head.push_back({"authorization", "Bearer s3cret"});
  head.push_back({"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"});
  auto x = send(owner, client, head);
  owner.app.answer({{":status", "503"}});
  owner.fire_next_deadline();
  owner.app.answer({{":status", "200"}, {"set-cookie", "id=1"}});
  x->downstream_stream()->on_close(0);

  auto events = (*session)->take(milliseconds(0));
  REQUIRE(events.size() == 1);
  const agent::TapEvent& e = events.front();
  CHECK(e.node == "node-t");
  CHECK(e.outbound);
  CHECK(e.pod == "prod/shop-1");
  CHECK(e.src.workload == "shop");
  CHECK(e.src.address->ip.str() == "10.0.0.5");
  CHECK(e.dst.principal == "spiffe://td/ns/prod/sa/cart");
  CHECK(e.dst.address->str() == "10.1.0.7:8080");
  CHECK(e.upstream->str() == "10.1.0.7:8080");
  CHECK(e.request.method == "GET");
  CHECK(e.request.authority == "cart");
  CHECK(e.request.path == "/items");
  CHECK(e.route == "cart/r|rule-0");
  CHECK(e.status == 200);
  CHECK(e.retries == 1);
  CHECK(e.request.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(*l7::find_header(e.request.headers, "authorization") == "REDACTED");
  CHECK(*l7::find_header(e.request.response_headers, "set-cookie") == "REDACTED");
  std::string line = agent::to_json(e);
  CHECK(line.find("s3cret") == std::string::npos);
  CHECK(line.find("\"status\":200") != std::string::npos);

  owner.taps.close(*session);
  CHECK_FALSE(owner.taps.active());
  auto y = send(owner, client, get());
  owner.app.answer({{":status", "200"}});
  y->downstream_stream()->on_close(0);
  CHECK((*session)->take(milliseconds(0)).empty());  // closed: nothing captured
}

TEST_CASE(
    "exchange: every finished request is in the flow history: allowed with its line and answer, "
    "denied by policy, failed for want of an endpoint") {
  Owner owner;
  owner.has_rule = false;
  Client client;
  l7::Headers head = get();
  head.push_back({"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"});
  auto x = send(owner, client, head);
  owner.app.answer({{":status", "500"}});
  x->downstream_stream()->on_close(0);

  owner.target->plan.denied = "not_allowed";
  auto y = send(owner, client, get());
  y->downstream_stream()->on_close(0);
  owner.target->plan.denied.clear();
  owner.target->reachable = false;
  auto z = send(owner, client, get());
  z->downstream_stream()->on_close(0);

  auto records = owner.flowlog.query({});
  REQUIRE(records.size() == 3);
  const agent::FlowRecord& r = records[0];
  CHECK(r.kind == agent::FlowKind::Request);
  CHECK(r.verdict == agent::FlowVerdict::Allowed);
  CHECK(r.protocol == "HTTP/1.1");
  CHECK(r.method == "GET");
  CHECK(r.authority == "cart");
  CHECK(r.path == "/items");
  CHECK(r.status == 500);
  CHECK(r.trace_id == "80f198ee56343ba864fe8b2a57d3eff7");
  CHECK(r.outbound);
  CHECK(r.src.address->ip.str() == "10.0.0.5");
  CHECK(r.src.workload == "shop");
  CHECK(r.dst.address->str() == "10.1.0.7:8080");
  CHECK(r.dst.principal == "spiffe://td/ns/prod/sa/cart");
  CHECK(records[1].verdict == agent::FlowVerdict::Denied);
  CHECK(records[1].status == 403);
  CHECK(records[1].reason == "not_allowed");
  CHECK(records[2].verdict == agent::FlowVerdict::Failed);
  CHECK(records[2].status == 503);
  CHECK(records[2].reason == "no healthy upstream");
}
