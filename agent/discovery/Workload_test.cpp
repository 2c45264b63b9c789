#include "agent/discovery/Workload.hpp"

#include <doctest/doctest.h>

namespace weft::discovery {
namespace {

TEST_CASE("workload name comes from the controller owner reference") {
  struct Case {
    const char* what;
    std::vector<OwnerReference> owners;
    std::string hash;  ///< pod-template-hash label, "" = absent
    std::string expected;
  };
  const Case cases[] = {
      {"Deployment via ReplicaSet", {{"ReplicaSet", "web-7d4b9", true}}, "7d4b9", "web"},
      {"Deployment with dashes", {{"ReplicaSet", "my-web-app-5f6c7", true}}, "5f6c7", "my-web-app"},
      {"ReplicaSet without the hash label", {{"ReplicaSet", "web-7d4b9", true}}, "", "web-7d4b9"},
      {"ReplicaSet not named after the hash", {{"ReplicaSet", "web", true}}, "7d4b9", "web"},
      {"hash is the whole name", {{"ReplicaSet", "7d4b9", true}}, "7d4b9", "7d4b9"},
      {"hash without a dash", {{"ReplicaSet", "web7d4b9", true}}, "7d4b9", "web7d4b9"},
      {"StatefulSet", {{"StatefulSet", "db", true}}, "", "db"},
      {"DaemonSet", {{"DaemonSet", "agent", true}}, "", "agent"},
      {"Job", {{"Job", "backup-28000000", true}}, "", "backup-28000000"},
      {"custom controller", {{"Rollout", "canary", true}}, "", "canary"},
      {"no owner", {}, "", "pod-x"},
      {"owner that is not the controller", {{"ReplicaSet", "web-7d4b9", false}}, "7d4b9", "pod-x"},
      {"controller after a non-controller",
       {{"Widget", "w", false}, {"StatefulSet", "db", true}},
       "",
       "db"},
  };
  for (const Case& c : cases) {
    Pod pod;
    pod.name = "pod-x";
    pod.owners = c.owners;
    if (!c.hash.empty()) {
      pod.labels["pod-template-hash"] = c.hash;
    }
    INFO(c.what);
    CHECK(workload_name(pod) == c.expected);
  }
}

}  // namespace
}  // namespace weft::discovery
