#include "agent/kube/DiscoveryMetrics.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace weft::kube {
namespace {

using prometheus::MetricType;

prometheus::MetricFamily per_collection(const KubeSource& source, const char* name,
                                        const char* help, MetricType type,
                                        const std::function<double(const ReflectorStats&)>& value) {
  prometheus::MetricFamily family{name, help, type, {}};
  for (const auto& r : source.reflectors()) {
    prometheus::ClientMetric m;
    m.label.push_back({"resource", std::string(r->spec().name)});
    double v = value(r->stats());
    if (type == MetricType::Counter) {
      m.counter.value = v;
    } else {
      m.gauge.value = v;
    }
    family.metric.push_back(std::move(m));
  }
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> discovery_metrics(const KubeSource& source) {
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  std::vector<prometheus::MetricFamily> out;
  out.push_back(per_collection(
      source, "weft_discovery_synced",
      "1 once the collection has been listed (the agent is ready when every one is)",
      MetricType::Gauge, [](const ReflectorStats& s) { return s.synced ? 1.0 : 0.0; }));
  out.push_back(per_collection(source, "weft_discovery_objects",
                               "Objects of the collection the agent holds", MetricType::Gauge,
                               [](const ReflectorStats& s) { return double(s.objects); }));
  out.push_back(per_collection(
      source, "weft_discovery_last_sync_age_seconds",
      "Seconds since the agent last knew the collection current (a list, a watch event or "
      "bookmark); -1 before the first list",
      MetricType::Gauge, [now](const ReflectorStats& s) {
        int64_t last = s.last_sync_ns;
        return last == 0 ? -1.0 : double(now - last) / 1e9;
      }));
  out.push_back(per_collection(source, "weft_discovery_relists_total",
                               "Lists after the first (410 Gone, an expired continue token, a "
                               "deleted CRD)",
                               MetricType::Counter,
                               [](const ReflectorStats& s) { return double(s.relists); }));
  out.push_back(per_collection(source, "weft_discovery_watch_restarts_total",
                               "Watches resumed from the last resourceVersion (the server's "
                               "timeout, a dropped or stalled stream, a failure)",
                               MetricType::Counter,
                               [](const ReflectorStats& s) { return double(s.watch_restarts); }));
  out.push_back(per_collection(source, "weft_discovery_decode_errors_total",
                               "Objects refused by the decoders (the previous version of each "
                               "stays in force)",
                               MetricType::Counter,
                               [](const ReflectorStats& s) { return double(s.decode_errors); }));
  out.push_back(per_collection(source, "weft_discovery_crd_missing",
                               "1 while an optional CustomResourceDefinition (the Gateway API's) "
                               "is not installed",
                               MetricType::Gauge,
                               [](const ReflectorStats& s) { return s.missing ? 1.0 : 0.0; }));
  prometheus::MetricFamily patches{"weft_discovery_pod_patches_total",
                                   "PATCHes of the weft.io/redirection annotation on this node's "
                                   "Pod objects, by result",
                                   MetricType::Counter,
                                   {}};
  // Failures first: a failure is counted after its patch, so failed <= sent, also mid-update.
  uint64_t failed = source.marker().patch_failures;
  uint64_t sent = source.marker().patches;
  for (auto [result, value] : {std::pair{"ok", sent - failed}, std::pair{"failed", failed}}) {
    prometheus::ClientMetric m;
    m.label.push_back({"result", result});
    m.counter.value = double(value);
    patches.metric.push_back(std::move(m));
  }
  out.push_back(std::move(patches));
  return out;
}

}  // namespace weft::kube
