// Pure edits of a CNI network configuration file: insert, replace or remove weft-cni's entry.
// No filesystem access, so golden tests and the fuzzer drive it directly.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/Error.hpp"

namespace weft::cni {

/// The plugin type weft-cni's entry carries (and the binary's name in the CNI bin dir).
inline constexpr std::string_view kPluginType = "weft-cni";

/// What our conflist entry says.
struct WeftEntry {
  std::string agent_socket = "/run/weft/cni.sock";
  int timeout_ms = 5000;
  /// "excludeNamespaces" when given; absent, the plugin's default (CniConfig.hpp).
  std::optional<std::vector<std::string>> exclude_namespaces;
};

/// {"type":"weft-cni","agentSocket":...,"timeoutMs":...[,"excludeNamespaces":[...]]}
nlohmann::ordered_json make_entry(const WeftEntry& entry);

/// The outcome of editing one file.
struct ConfigEdit {
  std::string file_name;  ///< file to write: a .conf/.json becomes <stem>.conflist
  std::string content;    ///< new text: JSON indented by 2, ending in '\n'
  bool changed = false;   ///< false when the file already says this (leave it untouched)
};

/// Makes `text` (the content of `file_name`) a conflist whose chain ends with our entry: an
/// existing weft-cni entry is replaced in place (drift) and duplicates dropped; otherwise the
/// entry is appended. A single-plugin config is converted to a conflist. Fails (Config) when
/// the text is not JSON, is neither a conflist nor a plugin config, has no plugin to chain
/// after, or declares a cniVersion weft-cni does not support.
Result<ConfigEdit> plan_install(std::string_view file_name, std::string_view text,
                                const WeftEntry& entry);

/// Removes every weft-cni entry from a conflist; a config without one is left unchanged.
Result<ConfigEdit> plan_uninstall(std::string_view file_name, std::string_view text);

}  // namespace weft::cni
