#include "cni/CniVersion.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace weft::cni {
namespace {

std::optional<int> parse_part(std::string_view part) {
  if (part.empty() || part.size() > 4) {
    return std::nullopt;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
  if (ec != std::errc{} || end != part.data() + part.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<SemVer> parse_semver(std::string_view text) {
  auto first = text.find('.');
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  auto second = text.find('.', first + 1);
  if (second == std::string_view::npos) {
    return std::nullopt;
  }
  auto major = parse_part(text.substr(0, first));
  auto minor = parse_part(text.substr(first + 1, second - first - 1));
  auto patch = parse_part(text.substr(second + 1));
  if (!major || !minor || !patch) {
    return std::nullopt;
  }
  return SemVer{*major, *minor, *patch};
}

bool is_supported_version(std::string_view version) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) !=
         kSupportedVersions.end();
}

bool supports_check(std::string_view version) {
  auto v = parse_semver(version);
  return v && *v >= SemVer{0, 4, 0};
}

std::string encode_version_info() {
  nlohmann::ordered_json doc = {{"cniVersion", kPluginCniVersion},
                                {"supportedVersions", kSupportedVersions}};
  return doc.dump() + "\n";
}

std::string supported_versions_text() {
  std::string out;
  for (auto v : kSupportedVersions) {
    if (!out.empty()) {
      out += ", ";
    }
    out += v;
  }
  return out;
}

}  // namespace weft::cni
