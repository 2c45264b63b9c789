#include "agent/tap/TapAllowList.hpp"

#include <fmt/format.h>

namespace weft::agent {

Result<TapAllowList> parse_tap_allow(std::string_view text) {
  TapAllowList out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto eq = entry.find('=');
    std::string_view principal = entry.substr(0, eq);
    if (eq == std::string_view::npos || !principal.starts_with("spiffe://") ||
        eq + 1 == entry.size()) {
      return fail(
          Error::Kind::Config,
          fmt::format("tap_allow: \"{}\" is not spiffe://...=NAMESPACE[;NAMESPACE...]", entry));
    }
    std::vector<std::string>& namespaces = out[std::string(principal)];
    std::string_view list = entry.substr(eq + 1);
    while (!list.empty()) {
      auto semi = list.find(';');
      std::string_view ns = list.substr(0, semi);
      list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
      if (ns.empty()) {
        return fail(Error::Kind::Config,
                    fmt::format("tap_allow: \"{}\" names an empty namespace", entry));
      }
      namespaces.emplace_back(ns);
    }
  }
  return out;
}

std::string describe_tap_allow(const TapAllowList& allow) {
  std::string out;
  for (const auto& [principal, namespaces] : allow) {
    out += fmt::format("{}{}=", out.empty() ? "" : ",", principal);
    for (std::size_t i = 0; i < namespaces.size(); ++i) {
      out += (i == 0 ? "" : ";") + namespaces[i];
    }
  }
  return out;
}

}  // namespace weft::agent
