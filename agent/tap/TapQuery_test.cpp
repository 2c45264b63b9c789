#include "agent/tap/TapQuery.hpp"

#include <doctest/doctest.h>

#include "agent/tap/TapAllowList.hpp"

namespace weft::agent {

TEST_CASE("tap query: filters percent-decoded, the session's settings apart") {
  auto q = parse_tap_query("namespace=shop&path=%2Fapi%2F&max_rps=5&duration=30&status=5xx", "");
  REQUIRE(q);
  CHECK(q->filter.ns == "shop");
  CHECK(q->filter.path_prefix == "/api/");
  CHECK(q->max_rps == 5);
  CHECK(q->duration == std::chrono::seconds(30));
  CHECK(q->filter.status->low == 500);
  CHECK_FALSE(q->sse);
  CHECK(parse_tap_query("", "text/event-stream")->sse);
  CHECK(parse_tap_query("format=sse&&", "")->sse);
  for (const char* bad : {"max_rps=0", "max_rps=-1", "duration=1.5", "format=xml", "colour=red",
                          "port=99999", "namespace="}) {
    CAPTURE(bad);
    auto refused = parse_tap_query(bad, "");
    REQUIRE_FALSE(refused);
    std::string key(bad, std::string_view(bad).find('='));
    CHECK(refused.error().message.find(key) != std::string::npos);
  }
}

TEST_CASE("tap allow-list: principals and their namespaces") {
  auto allow =
      parse_tap_allow("spiffe://td/ns/ops/sa/oncall=shop;cart,spiffe://td/ns/ops/sa/root=*");
  REQUIRE(allow);
  CHECK(allow->at("spiffe://td/ns/ops/sa/oncall") == std::vector<std::string>{"shop", "cart"});
  CHECK(allow->at("spiffe://td/ns/ops/sa/root") == std::vector<std::string>{"*"});
  CHECK(describe_tap_allow(*allow) ==
        "spiffe://td/ns/ops/sa/oncall=shop;cart,spiffe://td/ns/ops/sa/root=*");
  for (const char* bad : {"oncall=shop", "spiffe://x", "spiffe://x=", "spiffe://x=a;;b"}) {
    CAPTURE(bad);
    auto refused = parse_tap_allow(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.starts_with("tap_allow: "));
  }
}

}  // namespace weft::agent
