#include "agent/kube/WatchTable.hpp"

#include <doctest/doctest.h>

#include <set>

TEST_CASE("the watch table: paths, API versions, and the ClusterRole it needs") {
  std::set<std::string> paths;
  for (const auto& w : weft::kube::watch_table()) {
    paths.insert(w.path());
  }
  CHECK(paths == std::set<std::string>{"/api/v1/pods", "/api/v1/services",
                                       "/apis/discovery.k8s.io/v1/endpointslices",
                                       "/apis/gateway.networking.k8s.io/v1/grpcroutes",
                                       "/apis/gateway.networking.k8s.io/v1/httproutes",
                                       "/apis/security.weft.io/v1alpha1/meshpolicies"});
  CHECK(weft::kube::watch_table().front().node_scoped);  // merged first: full local pods win

  std::set<std::string> triples;
  for (const auto& r : weft::kube::rbac_rules()) {
    for (const auto& v : r.verbs) {
      triples.insert(r.group + "/" + r.resource + ":" + v);
    }
  }
  CHECK(
      triples ==
      std::set<std::string>{
          "/pods:list", "/pods:patch", "/pods:watch", "/services:list", "/services:watch",
          "discovery.k8s.io/endpointslices:list", "discovery.k8s.io/endpointslices:watch",
          "gateway.networking.k8s.io/grpcroutes:list", "gateway.networking.k8s.io/grpcroutes:watch",
          "gateway.networking.k8s.io/httproutes:list", "gateway.networking.k8s.io/httproutes:watch",
          "security.weft.io/meshpolicies:list", "security.weft.io/meshpolicies:watch"});
}
