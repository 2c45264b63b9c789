// CNI spec versions weft-cni speaks.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace weft::cni {

/// The version this plugin implements (and reports in VERSION).
inline constexpr std::string_view kPluginCniVersion = "1.0.0";

/// Every config version accepted: 0.3.0 is the first with chaining (prevResult).
inline constexpr std::array<std::string_view, 4> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0",
                                                                       "1.0.0"};

/// A parsed "major.minor.patch".
struct SemVer {
  int major = 0;
  int minor = 0;
  int patch = 0;
  friend auto operator<=>(const SemVer&, const SemVer&) = default;
};

/// Parses "a.b.c" (digits only, each part at most 4 digits); nullopt otherwise.
std::optional<SemVer> parse_semver(std::string_view text);

/// True when `version` is one of kSupportedVersions.
bool is_supported_version(std::string_view version);

/// True when `version` supports CHECK (introduced in spec 0.4.0).
bool supports_check(std::string_view version);

/// The VERSION command's answer: {"cniVersion":"1.0.0","supportedVersions":[...]}.
std::string encode_version_info();

/// "0.3.0, 0.3.1, 0.4.0, 1.0.0" for messages.
std::string supported_versions_text();

}  // namespace weft::cni
