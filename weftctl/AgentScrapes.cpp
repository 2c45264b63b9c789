#include "weftctl/AgentScrapes.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace weft::weftctl {
namespace {

/// A series' identity within one agent's scrapes: its name and labels as written.
std::string series_key(const MetricSample& s) {
  std::string key = s.name;
  for (const auto& [name, value] : s.labels) {
    key.append("\x1f").append(name).append("=").append(value);
  }
  return key;
}

}  // namespace

std::vector<MetricSample> window_deltas(const AgentScrapes& scrapes,
                                        std::span<const std::string_view> counters) {
  auto counted = [&counters](const MetricSample& s) {
    return std::find(counters.begin(), counters.end(), s.name) != counters.end();
  };
  std::unordered_map<std::string, double> before;
  for (const MetricSample& s : scrapes.before) {
    if (counted(s)) {
      before.emplace(series_key(s), s.value);
    }
  }
  std::vector<MetricSample> out;
  for (const MetricSample& s : scrapes.after) {
    if (!counted(s)) {
      continue;
    }
    MetricSample delta = s;
    if (auto it = before.find(series_key(s)); it != before.end() && it->second <= s.value) {
      delta.value -= it->second;
    }
    out.push_back(std::move(delta));
  }
  return out;
}

}  // namespace weft::weftctl
