#include "weftctl/PrometheusApi.hpp"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "weftctl/HttpGet.hpp"

namespace weft::weftctl {
namespace {

/// A sample value as the API writes it: [time, "1.5"], "NaN", "+Inf".
bool number(const nlohmann::json& value, double& out) {
  if (!value.is_array() || value.size() != 2 || !value[1].is_string()) {
    return false;
  }
  const auto& text = value[1].get_ref<const std::string&>();
  std::string_view v = text;
  if (v.starts_with('+')) {
    v.remove_prefix(1);
  }
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size();
}

}  // namespace

Result<std::vector<MetricSample>> prometheus_vector(std::string_view answer) {
  auto json = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* result = nullptr;
  if (json.is_object() && json.value("status", "") == "success" && json.contains("data") &&
      json["data"].is_object() && json["data"].value("resultType", "") == "vector" &&
      json["data"].contains("result") && json["data"]["result"].is_array()) {
    result = &json["data"]["result"];
  }
  if (result == nullptr) {
    return fail(Error::Kind::Protocol,
                json.is_object() && json.contains("error") && json["error"].is_string()
                    ? json["error"].get<std::string>()
                    : std::string("not a successful vector answer"));
  }
  std::vector<MetricSample> out;
  for (const nlohmann::json& series : *result) {
    MetricSample s;
    if (!series.is_object() || !series.contains("metric") || !series["metric"].is_object() ||
        !number(series.value("value", nlohmann::json()), s.value)) {
      continue;
    }
    for (const auto& [name, value] : series["metric"].items()) {
      if (!value.is_string()) {
        continue;
      }
      if (name == "__name__") {
        s.name = value.get<std::string>();
      } else {
        s.labels.emplace_back(name, value.get<std::string>());
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<MetricSample>> prometheus_query(const std::string& base,
                                                   const std::string& expr) {
  constexpr auto kQueryTimeout = std::chrono::seconds(10);
  auto body = http_get(base + "/api/v1/query?query=" + url_escape(expr), kQueryTimeout);
  if (!body) {
    return std::unexpected(std::move(body.error()));
  }
  auto samples = prometheus_vector(*body);
  if (!samples) {
    return fail(Error::Kind::Protocol, fmt::format("query {}: {}", expr, samples.error().message));
  }
  return samples;
}

}  // namespace weft::weftctl
