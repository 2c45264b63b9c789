#include "common/PodRegistration.hpp"

#include <doctest/doctest.h>

using weft::PodRegistration;

TEST_CASE("registration round-trips through JSON") {
  PodRegistration reg;
  reg.op = PodRegistration::Op::Add;
  reg.container_id = "abc";
  reg.netns = "/var/run/netns/p1";
  reg.ifname = "eth0";
  reg.ips = {"10.244.1.5/24"};
  reg.pod_name = "client";
  reg.pod_namespace = "demo";
  auto back = weft::decode_registration(weft::encode(reg));
  REQUIRE(back);
  CHECK(back->container_id == "abc");
  CHECK(back->ips == reg.ips);
  CHECK(back->pod_namespace == "demo");
}

TEST_CASE("malformed registrations are rejected with a reason") {
  struct Case {
    const char* json;
    const char* reason;
  };
  for (auto [json, reason] : {
           Case{"", "not a JSON object"},
           Case{"[1]", "not a JSON object"},
           Case{R"({"op":"add"})", "containerId"},
           Case{R"({"op":"fly","containerId":"a"})", "unknown op"},
           Case{R"({"op":"add","containerId":"a"})", "netns"},
           Case{R"({"op":"add","containerId":"a","netns":"/x","ifname":"e","ips":[1]})", "ips"},
       }) {
    auto r = weft::decode_registration(json);
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(r.error().message.find(reason) != std::string::npos, json);
  }
  // DEL tolerates a netns that is already gone.
  CHECK(weft::decode_registration(R"({"op":"del","containerId":"a"})"));
}
