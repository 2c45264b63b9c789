#include "agent/tap/TapHub.hpp"

#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <thread>

namespace weft::agent {
namespace {

double dropped(prometheus::Registry& registry, const std::string& reason) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "weft_tap_events_dropped_total") {
      continue;
    }
    for (const auto& m : family.metric) {
      if (m.label.size() == 1 && m.label[0].value == reason) {
        return m.counter.value;
      }
    }
  }
  return -1;
}

TapEvent with_status(int status) {
  TapEvent e;
  e.status = status;
  return e;
}

}  // namespace

TEST_CASE("tap hub: a session gets the events its filter matches, numbered, with the node") {
  prometheus::Registry registry;
  TapHub hub("node-a", {}, registry);
  CHECK_FALSE(hub.active());
  auto errors = hub.open(*parse_tap_filter({{"status", "5xx"}}), 0, "test");
  REQUIRE(errors);
  CHECK(hub.active());
  hub.publish(with_status(200));
  hub.publish(with_status(502));
  auto got = (*errors)->take(std::chrono::milliseconds(0));
  REQUIRE(got.size() == 1);
  CHECK(got[0].status == 502);
  CHECK(got[0].id == 2);
  CHECK(got[0].node == "node-a");
  hub.close(*errors);
  CHECK_FALSE(hub.active());
}

TEST_CASE("tap hub: a session's rate, the agent's rate and the queue each drop and count") {
  prometheus::Registry registry;
  TapLimits limits;
  limits.max_events_per_second = 30;
  limits.queue_events = 8;
  TapHub hub("n", limits, registry);
  auto slow = hub.open({}, 5, "slow");
  REQUIRE(slow);
  CHECK((*slow)->max_rps() == 5);
  for (int i = 0; i < 20; ++i) {
    hub.publish(with_status(200));
  }
  CHECK((*slow)->take(std::chrono::milliseconds(0)).size() == 5);  // a second's worth
  CHECK(dropped(registry, "session_rate") == 15);

  auto fast = hub.open({}, 1000, "fast");  // capped at the agent's rate
  REQUIRE(fast);
  CHECK((*fast)->max_rps() == 30);
  for (int i = 0; i < 20; ++i) {
    hub.publish(with_status(200));
  }
  // The queue holds 8; the agent's 30 a second had 25 left after the first burst.
  CHECK((*fast)->take(std::chrono::milliseconds(0)).size() == 8);
  CHECK(dropped(registry, "queue_full") == 12);
  for (int i = 0; i < 30; ++i) {
    hub.publish(with_status(200));
  }
  CHECK(dropped(registry, "agent_rate") > 0);
  hub.close(*slow);
  hub.close(*fast);
}

TEST_CASE("tap hub: sessions past max_sessions are refused; 0 turns tap off") {
  prometheus::Registry registry;
  TapLimits limits;
  limits.max_sessions = 1;
  TapHub hub("n", limits, registry);
  auto first = hub.open({}, 0, "a");
  REQUIRE(first);
  auto second = hub.open({}, 0, "b");
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("tap_max_sessions") != std::string::npos);
  hub.close(*first);
  CHECK(hub.open({}, 0, "c"));

  TapLimits off;
  off.max_sessions = 0;
  TapHub none("n", off, registry);
  CHECK_FALSE(none.open({}, 0, "a"));
}

TEST_CASE("tap hub: take() waits for an event published by another thread") {
  prometheus::Registry registry;
  TapHub hub("n", {}, registry);
  auto session = hub.open({}, 0, "t");
  REQUIRE(session);
  std::thread worker([&hub] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hub.publish(with_status(200));
  });
  auto got = (*session)->take(std::chrono::seconds(5));
  worker.join();
  CHECK(got.size() == 1);
  hub.close(*session);
}

TEST_CASE("tap hub: the configured headers are redacted, others kept") {
  prometheus::Registry registry;
  TapLimits limits;
  limits.redacted_headers = {"x-api-key"};
  TapHub hub("n", limits, registry);
  auto request = hub.begin({{":method", "GET"}, {"x-api-key", "k"}, {"authorization", "a"}});
  CHECK(*l7::find_header(request->headers, "x-api-key") == "REDACTED");
  CHECK(*l7::find_header(request->headers, "authorization") == "a");
}

}  // namespace weft::agent
