#include "weftctl/AgentDiscovery.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "agent/discovery/Document.hpp"
#include "agent/kube/ApiClient.hpp"
#include "agent/kube/ApiObjects.hpp"
#include "agent/kube/ApiServerConfig.hpp"
#include "common/IpAddr.hpp"

namespace weft::weftctl {
namespace {

constexpr const char* kSelector = "app.kubernetes.io/name=weft-agent";

}  // namespace

Result<std::vector<std::string>> agent_addresses(std::string_view pod_list, uint16_t port) {
  auto doc = discovery::parse_json("the API's pod list", pod_list);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto page = kube::read_list(*doc);
  if (!page) {
    return fail(Error::Kind::Protocol, "the API's answer is not a list of pods");
  }
  std::vector<std::string> out;
  for (const discovery::DocNode* pod : page->items) {
    auto ip = IpAddr::parse(kube::text_at(pod, {"status", "podIP"}));
    if (ip && kube::text_at(pod, {"status", "phase"}) == "Running") {
      out.push_back(SockAddr{*ip, port}.str());
    }
  }
  std::ranges::sort(out);
  return out;
}

Result<std::vector<std::string>> agents_from_api(const AgentLookup& lookup) {
  auto config = lookup.kubeconfig.empty() ? kube::in_cluster_config(kube::service_environment())
                                          : kube::kubeconfig_config(lookup.kubeconfig);
  if (!config) {
    return std::unexpected(config.error());
  }
  static const std::atomic<bool> kNeverStop = false;
  auto client = kube::ApiClient::create(std::move(*config), kNeverStop);
  if (!client) {
    return std::unexpected(client.error());
  }
  std::string target = fmt::format("/api/v1/namespaces/{}/pods?labelSelector={}",
                                   kube::query_escape(lookup.ns), kube::query_escape(kSelector));
  auto answer = (*client)->get(target, std::chrono::seconds(10));
  if (!answer) {
    return std::unexpected(answer.error());
  }
  if (answer->status != 200) {
    auto status = kube::read_status(answer->body);
    return fail(Error::Kind::Protocol, fmt::format("listing the agents' pods in {}: status {}: {}",
                                                   lookup.ns, answer->status, status.message));
  }
  auto agents = agent_addresses(answer->body, lookup.port);
  if (agents && agents->empty()) {
    return fail(Error::Kind::NotFound, fmt::format("the API lists no running pod labelled {} in {}",
                                                   kSelector, lookup.ns));
  }
  return agents;
}

}  // namespace weft::weftctl
