// Fuzzes weftctl's reader of an agent's /metrics (the Prometheus text format): whatever it
// reads must write back as text that reads the same samples.
#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/Check.hpp"
#include "weftctl/MetricsText.hpp"

namespace {

using weft::weftctl::MetricSample;

std::string escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string written(const MetricSample& s) {
  std::string line = s.name + "{";
  for (const auto& [name, value] : s.labels) {
    line += fmt::format("{}=\"{}\",", name, escaped(value));
  }
  std::string value = std::isnan(s.value)   ? "NaN"
                      : std::isinf(s.value) ? (s.value > 0 ? "+Inf" : "-Inf")
                                            : fmt::format("{}", s.value);  // shortest round trip
  return line + "} " + value + "\n";
}

bool same(const MetricSample& a, const MetricSample& b) {
  bool values = (std::isnan(a.value) && std::isnan(b.value)) || a.value == b.value;
  return a.name == b.name && a.labels == b.labels && values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto samples = weft::weftctl::parse_metrics_text(text);
  if (!samples) {
    weft::fuzz::check(samples.error().message.starts_with("line "));
    return 0;
  }
  std::string again;
  for (const MetricSample& s : *samples) {
    weft::fuzz::check(!s.name.empty());
    again += written(s);
  }
  auto reread = weft::weftctl::parse_metrics_text(again);
  weft::fuzz::check(reread.has_value() && reread->size() == samples->size());
  for (std::size_t i = 0; i < samples->size(); ++i) {
    weft::fuzz::check(same((*samples)[i], (*reread)[i]));
  }
  return 0;
}
