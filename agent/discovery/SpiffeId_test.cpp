#include "agent/discovery/SpiffeId.hpp"

#include <doctest/doctest.h>

#include <string>

namespace weft::discovery {
namespace {

TEST_CASE("parse_workload_spiffe_id splits spiffe://<td>/ns/<ns>/sa/<sa>") {
  auto id = parse_workload_spiffe_id("spiffe://cluster.local/ns/demo/sa/client");
  REQUIRE(id.has_value());
  CHECK(id->trust_domain == "cluster.local");
  CHECK(id->ns == "demo");
  CHECK(id->service_account == "client");
  id = parse_workload_spiffe_id("spiffe://corp_1.example-2/ns/a-1/sa/build.bot");
  REQUIRE(id.has_value());
  CHECK(id->trust_domain == "corp_1.example-2");
  CHECK(id->service_account == "build.bot");
}

TEST_CASE("parse_workload_spiffe_id rejects anything but a workload SPIFFE ID") {
  const std::string_view bad[] = {
      "",
      "*",
      "client",
      "spiffe://",
      "spiffe://cluster.local",
      "spiffe://cluster.local/",
      "spiffe:///ns/demo/sa/client",
      "SPIFFE://cluster.local/ns/demo/sa/client",
      "https://cluster.local/ns/demo/sa/client",
      "spiffe://Cluster.local/ns/demo/sa/client",
      "spiffe://cluster.local:8443/ns/demo/sa/client",
      "spiffe://user@cluster.local/ns/demo/sa/client",
      "spiffe://cluster.local/ns/demo/client",
      "spiffe://cluster.local/ns/demo/sa/",
      "spiffe://cluster.local/ns//sa/client",
      "spiffe://cluster.local/ns/Demo/sa/client",
      "spiffe://cluster.local/ns/demo/sa/client/",
      "spiffe://cluster.local/ns/demo/sa/client/extra",
      "spiffe://cluster.local/x/ns/demo/sa/client",
      "spiffe://cluster.local/ns/demo/sa/client?x=1",
      "spiffe://cluster.local/ns/demo/sa/client#f",
      "spiffe://cluster.local/ns/demo/sa/cli%20ent",
      "spiffe://cluster.local/ns/demo/sa/../client",
  };
  for (std::string_view text : bad) {
    INFO(text);
    CHECK_FALSE(parse_workload_spiffe_id(text).has_value());
  }
  std::string long_td = "spiffe://" + std::string(256, 'a') + "/ns/demo/sa/client";
  CHECK_FALSE(parse_workload_spiffe_id(long_td).has_value());
  std::string max_td = "spiffe://" + std::string(255, 'a') + "/ns/demo/sa/client";
  CHECK(parse_workload_spiffe_id(max_td).has_value());
}

}  // namespace
}  // namespace weft::discovery
