#include "weftctl/AgentDiscovery.hpp"

#include <doctest/doctest.h>

namespace weft::weftctl {

TEST_CASE("agent discovery: running agent pods with an IP, at the agents' port") {
  auto found = agent_addresses(
      R"({"kind":"PodList","metadata":{"resourceVersion":"7"},"items":[
        {"metadata":{"name":"weft-agent-b"},"status":{"phase":"Running","podIP":"10.0.2.5"}},
        {"metadata":{"name":"weft-agent-a"},"status":{"phase":"Running","podIP":"10.0.1.5"}},
        {"metadata":{"name":"weft-agent-c"},"status":{"phase":"Pending"}},
        {"metadata":{"name":"weft-agent-d"},"status":{"phase":"Running","podIP":"fd00::9"}},
        {"metadata":{"name":"weft-agent-e"},"status":{"phase":"Failed","podIP":"10.0.3.5"}}]})",
      15020);
  REQUIRE(found);
  CHECK(*found == std::vector<std::string>{"10.0.1.5:15020", "10.0.2.5:15020", "[fd00::9]:15020"});
  CHECK_FALSE(agent_addresses("{\"kind\":\"Status\"}", 1));
  CHECK_FALSE(agent_addresses("not json", 1));
}

TEST_CASE("agent discovery: a kubeconfig that cannot be read is an error naming it") {
  auto none = agents_from_api({"/nonexistent/kubeconfig", "weft-system", 15020});
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("/nonexistent/kubeconfig") != std::string::npos);
}

}  // namespace weft::weftctl
