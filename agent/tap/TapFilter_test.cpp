#include "agent/tap/TapFilter.hpp"

#include <doctest/doctest.h>

namespace weft::agent {
namespace {

TapEvent event() {
  TapEvent e;
  e.outbound = true;
  e.pod = "shop/web-1";
  e.src = {SockAddr{*IpAddr::parse("10.0.1.5"), 0}, "web", "shop", "spiffe://td/ns/shop/sa/web"};
  e.dst = {SockAddr::parse("10.0.2.9:8080"), "cart", "store", "spiffe://td/ns/store/sa/cart"};
  e.request.method = "POST";
  e.request.authority = "cart.store";
  e.request.path = "/api/items?id=3";
  e.status = 503;
  return e;
}

Result<TapFilter> parse(std::vector<std::pair<std::string, std::string>> query) {
  return parse_tap_filter(query);
}

bool matches(std::vector<std::pair<std::string, std::string>> query) {
  auto f = parse(std::move(query));
  REQUIRE(f);
  return f->matches(event());
}

}  // namespace

TEST_CASE("tap filter: each key narrows the events to those that match it") {
  CHECK(matches({}));
  CHECK(matches({{"namespace", "store"}}));  // either end
  CHECK(matches({{"namespace", "shop"}, {"workload", "web"}}));
  CHECK_FALSE(matches({{"namespace", "shop"}, {"workload", "cart"}}));  // both of one end
  CHECK(matches({{"pod", "shop/web-1"}}));
  CHECK(matches({{"pod", "web-1"}, {"namespace", "shop"}}));
  CHECK_FALSE(matches({{"pod", "web-2"}}));
  CHECK(matches({{"to_namespace", "store"}, {"to_workload", "cart"}}));
  CHECK_FALSE(matches({{"to_workload", "web"}}));  // the source, not the destination
  CHECK(matches({{"direction", "outbound"}}));
  CHECK_FALSE(matches({{"direction", "inbound"}}));
  CHECK(matches({{"src", "10.0.1.0/24"}, {"dst", "10.0.2.9"}}));
  CHECK_FALSE(matches({{"src", "10.0.2.0/24"}}));
  CHECK(matches({{"port", "8080"}}));
  CHECK_FALSE(matches({{"port", "80"}}));
  CHECK(matches({{"method", "post"}}));
  CHECK(matches({{"authority", "cart.store"}, {"path", "/api/"}}));
  CHECK_FALSE(matches({{"path", "/apix"}}));
  CHECK(matches({{"status", "5xx"}}));
  CHECK(matches({{"status", "503"}}));
  CHECK(matches({{"status", "4+"}}));
  CHECK_FALSE(matches({{"status", "2xx"}}));
  CHECK_FALSE(matches({{"status", "504"}}));
  auto f = parse({});
  f->namespaces = {"other", "shop"};  // an mTLS client's allow-list: the local pod's namespace
  CHECK(f->matches(event()));
  f->namespaces = {"store"};  // the destination's namespace is not the pod's
  CHECK_FALSE(f->matches(event()));
}

TEST_CASE("tap filter: an unknown key or a malformed value is refused with the key named") {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"direction", "up"},
                                                        {"src", "10.0.0.0/33"},
                                                        {"port", "0"},
                                                        {"port", "http"},
                                                        {"path", "api"},
                                                        {"status", "6xx"},
                                                        {"status", "99"},
                                                        {"namespace", ""},
                                                        {"colour", "red"}}) {
    auto f = parse({{key, value}});
    REQUIRE_FALSE(f);
    CHECK(f.error().message.find(key) != std::string::npos);
  }
}

TEST_CASE("tap filter: status ranges") {
  CHECK(StatusRange::parse("5+")->low == 500);
  CHECK(StatusRange::parse("5+")->high == 599);
  CHECK(StatusRange::parse("404+")->low == 404);
  CHECK(StatusRange::parse("0")->contains(0));
  CHECK_FALSE(StatusRange::parse("0x"));
  CHECK_FALSE(StatusRange::parse("+"));
}

}  // namespace weft::agent
