#include "cni/ConflistEdit.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "cni/BoundedJson.hpp"
#include "cni/CniVersion.hpp"

namespace weft::cni {
namespace {

using nlohmann::ordered_json;

bool is_weft_entry(const ordered_json& plugin) {
  auto type = plugin.find("type");
  return type != plugin.end() && type->is_string() &&
         type->get_ref<const std::string&>() == kPluginType;
}

std::string render(const ordered_json& doc) {
  // Configs in /etc/cni/net.d are read by people too: indent, and keep non-ASCII readable.
  return doc.dump(2) + "\n";
}

Result<void> check_version(const ordered_json& doc) {
  auto it = doc.find("cniVersion");
  if (it == doc.end() || !it->is_string()) {
    return fail(Error::Kind::Config, "it has no string \"cniVersion\"");
  }
  const auto& version = it->get_ref<const std::string&>();
  if (!is_supported_version(version)) {
    return fail(Error::Kind::Config,
                fmt::format("its cniVersion \"{}\" is not supported by weft-cni (supported: {})",
                            version, supported_versions_text()));
  }
  return {};
}

/// The document as a conflist, converting a single-plugin config; `converted` tells which.
Result<ordered_json> as_conflist(std::string_view text, bool& converted) {
  auto doc = parse_bounded_json(text);
  if (!doc) {
    return fail(Error::Kind::Config, fmt::format("it is not valid JSON: {}", doc.error().message));
  }
  if (!doc->is_object()) {
    return fail(Error::Kind::Config, "it is not a JSON object");
  }
  if (auto ok = check_version(*doc); !ok) {
    return std::unexpected(ok.error());
  }
  converted = false;
  if (auto plugins = doc->find("plugins"); plugins != doc->end()) {
    if (!plugins->is_array()) {
      return fail(Error::Kind::Config, "its \"plugins\" is not an array");
    }
    for (const auto& plugin : *plugins) {
      if (!plugin.is_object() || !plugin.contains("type") || !plugin.at("type").is_string()) {
        return fail(Error::Kind::Config, "an entry of its \"plugins\" has no string \"type\"");
      }
    }
    return std::move(*doc);
  }
  auto type = doc->find("type");
  if (type == doc->end() || !type->is_string()) {
    return fail(Error::Kind::Config,
                "it is neither a conflist (\"plugins\") nor a plugin config (\"type\")");
  }
  // libcni gives every plugin of a list the list's name and cniVersion, so they move up.
  ordered_json list = ordered_json::object();
  list["cniVersion"] = (*doc)["cniVersion"];
  if (auto name = doc->find("name"); name != doc->end()) {
    list["name"] = *name;
  }
  ordered_json plugin = std::move(*doc);
  plugin.erase("cniVersion");
  plugin.erase("name");
  list["plugins"] = ordered_json::array({std::move(plugin)});
  converted = true;
  return list;
}

std::string conflist_name(std::string_view file_name) {
  std::filesystem::path path(file_name);
  if (path.extension() == ".conflist") {
    return std::string(file_name);
  }
  path.replace_extension(".conflist");
  return path.string();
}

}  // namespace

ordered_json make_entry(const WeftEntry& entry) {
  ordered_json out{
      {"type", kPluginType}, {"agentSocket", entry.agent_socket}, {"timeoutMs", entry.timeout_ms}};
  if (entry.exclude_namespaces) {
    out["excludeNamespaces"] = *entry.exclude_namespaces;
  }
  return out;
}

Result<ConfigEdit> plan_install(std::string_view file_name, std::string_view text,
                                const WeftEntry& entry) {
  bool converted = false;
  auto list = as_conflist(text, converted);
  if (!list) {
    return std::unexpected(list.error());
  }
  ordered_json before = converted ? ordered_json() : *list;
  auto& plugins = (*list)["plugins"];
  ordered_json ours = make_entry(entry);
  ordered_json kept = ordered_json::array();
  bool placed = false;
  for (auto& plugin : plugins) {
    if (!is_weft_entry(plugin)) {
      kept.push_back(std::move(plugin));
    } else if (!placed) {
      // Replace in place: an operator may have put other plugins (e.g. portmap) after us.
      kept.push_back(ours);
      placed = true;
    }
  }
  if (!placed) {
    kept.push_back(std::move(ours));
  }
  if (kept.size() < 2) {
    return fail(Error::Kind::Config,
                "it has no plugin for weft-cni to chain after (the primary plugin assigns IPs)");
  }
  plugins = std::move(kept);
  ConfigEdit edit;
  edit.file_name = converted ? conflist_name(file_name) : std::string(file_name);
  edit.changed = converted || *list != before;
  edit.content = edit.changed ? render(*list) : std::string(text);
  return edit;
}

Result<ConfigEdit> plan_uninstall(std::string_view file_name, std::string_view text) {
  bool converted = false;
  auto list = as_conflist(text, converted);
  if (!list) {
    return std::unexpected(list.error());
  }
  ConfigEdit edit{std::string(file_name), std::string(text), false};
  if (converted) {
    // A single-plugin config cannot hold our entry.
    return edit;
  }
  auto& plugins = (*list)["plugins"];
  ordered_json kept = ordered_json::array();
  for (auto& plugin : plugins) {
    if (!is_weft_entry(plugin)) {
      kept.push_back(std::move(plugin));
    }
  }
  if (kept.size() == plugins.size()) {
    return edit;
  }
  if (kept.empty()) {
    return fail(Error::Kind::Config,
                "weft-cni is its only plugin; remove the file by hand if that is intended");
  }
  plugins = std::move(kept);
  edit.changed = true;
  edit.content = render(*list);
  return edit;
}

}  // namespace weft::cni
