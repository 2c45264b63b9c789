#include "cni/CniArgs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace weft::cni {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::expected<bool, CniError> parse_bool(std::string_view value) {
  if (value == "1" || iequals(value, "true")) {
    return true;
  }
  if (value == "0" || iequals(value, "false")) {
    return false;
  }
  return std::unexpected(cni_error(ErrorCode::InvalidEnvironment, "invalid CNI_ARGS",
                                   fmt::format("IgnoreUnknown must be 1, 0, true or false, not "
                                               "\"{}\"",
                                               value)));
}

}  // namespace

std::expected<CniArgs, CniError> parse_cni_args(std::string_view text) {
  CniArgs out;
  std::vector<std::string_view> unknown;
  while (!text.empty()) {
    auto semi = text.find(';');
    std::string_view pair = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (pair.empty()) {
      continue;
    }
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return std::unexpected(cni_error(ErrorCode::InvalidEnvironment, "invalid CNI_ARGS",
                                       fmt::format("\"{}\" is not a KEY=VALUE pair", pair)));
    }
    std::string_view key = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    if (key == "K8S_POD_NAME") {
      out.pod_name = value;
    } else if (key == "K8S_POD_NAMESPACE") {
      out.pod_namespace = value;
    } else if (key == "K8S_POD_UID") {
      out.pod_uid = value;
    } else if (key == "K8S_POD_INFRA_CONTAINER_ID") {
      out.infra_container_id = value;
    } else if (key == "IgnoreUnknown") {
      auto flag = parse_bool(value);
      if (!flag) {
        return std::unexpected(flag.error());
      }
      out.ignore_unknown = *flag;
    } else {
      unknown.push_back(key);
    }
  }
  // IgnoreUnknown may come after the unknown key, so decide only once every pair is read.
  if (!unknown.empty() && !out.ignore_unknown) {
    return std::unexpected(cni_error(
        ErrorCode::InvalidEnvironment, "invalid CNI_ARGS",
        fmt::format("unknown key \"{}\" (add IgnoreUnknown=1 to ignore it)", unknown.front())));
  }
  return out;
}

}  // namespace weft::cni
