#include "weftctl/CniChecks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/BoundedJson.hpp"
#include "cni/CniConfig.hpp"
#include "cni/ConflistEdit.hpp"
#include "cni/Installer.hpp"
#include "common/AtomicFile.hpp"

namespace weft::weftctl {
namespace {

constexpr const char* kCategory = "weft-cni";

std::string install_hint(const std::filesystem::path& conf_dir) {
  return fmt::format(
      "weft-cni install --cni-conf-dir {} chains it (the DaemonSet's installer container keeps it "
      "there)",
      conf_dir.string());
}

std::string plugin_type(const nlohmann::ordered_json& plugin) {
  auto type = plugin.is_object() ? plugin.find("type") : plugin.end();
  return type != plugin.end() && type->is_string() ? type->get<std::string>() : "?";
}

CheckResult binary_check(const std::filesystem::path& bin_dir) {
  auto binary = bin_dir / std::string(cni::kPluginType);
  CheckResult r{.category = kCategory,
                .check = "the weft-cni binary is installed",
                .detail = binary.string()};
  struct stat st {};
  if (::stat(binary.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      ::access(binary.c_str(), X_OK) != 0) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("no executable {}", binary.string());
    r.hint = fmt::format(
        "the runtime runs the plugins it finds there: weft-cni install --cni-bin-dir {} copies "
        "it",
        bin_dir.string());
  }
  return r;
}

CheckResult socket_check(const std::string& socket) {
  CheckResult r{
      .category = kCategory, .check = "the agent's registration socket is there", .detail = socket};
  struct stat st {};
  if (::stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("no socket {}", socket);
    r.hint =
        "weft-cni hands each new pod to this node's agent there, and fails the pod's start when "
        "it cannot: is the agent running on this node with that registration_socket?";
  }
  return r;
}

}  // namespace

CheckResult chain_check(std::string_view file, std::string_view text, std::string& agent_socket) {
  CheckResult r{.category = kCategory, .check = "weft-cni is chained after the primary plugin"};
  auto fail_with = [&](std::string detail) {
    r.status = CheckStatus::Error;
    r.detail = std::move(detail);
    return r;
  };
  auto doc = cni::parse_bounded_json(text);
  if (!doc) {
    return fail_with(fmt::format("{}: {}", file, doc.error().message));
  }
  auto plugins = doc->is_object() ? doc->find("plugins") : doc->end();
  if (plugins == doc->end() || !plugins->is_array()) {
    return fail_with(
        fmt::format("{} is no conflist (no \"plugins\" list): nothing is chained", file));
  }
  std::vector<std::string> types;
  std::vector<std::size_t> ours;
  for (const auto& plugin : *plugins) {
    if (plugin_type(plugin) == cni::kPluginType) {
      ours.push_back(types.size());
    }
    types.push_back(plugin_type(plugin));
  }
  std::string chain = fmt::format("{}", fmt::join(types, " -> "));
  if (ours.empty()) {
    return fail_with(fmt::format("{} chains no weft-cni: {}", file, chain));
  }
  if (ours.front() == 0) {
    return fail_with(
        fmt::format("{}: weft-cni comes first ({}); it only hands on the primary plugin's result",
                    file, chain));
  }
  if (ours.size() > 1) {
    return fail_with(
        fmt::format("{}: weft-cni is chained {} times ({})", file, ours.size(), chain));
  }
  const auto& entry = (*plugins)[ours.front()];
  auto socket = entry.find("agentSocket");
  agent_socket = socket != entry.end() && socket->is_string()
                     ? socket->get<std::string>()
                     : std::string(cni::kDefaultAgentSocket);
  r.detail = fmt::format("{}: {}", file, chain);
  return r;
}

std::vector<CheckResult> cni_checks(const std::filesystem::path& conf_dir,
                                    const std::filesystem::path& bin_dir) {
  std::vector<CheckResult> out;
  CheckResult config{.category = kCategory, .check = "the node has a CNI network config"};
  auto primary = cni::find_primary_config(conf_dir);
  if (!primary) {
    config.status = CheckStatus::Error;
    config.detail = primary.error().message;
    config.hint =
        "the primary CNI (bridge, Calico, Cilium, Flannel...) writes it; is --cni-conf-dir the "
        "directory the container runtime reads?";
    out.push_back(std::move(config));
    out.push_back(binary_check(bin_dir));
    return out;
  }
  config.detail = primary->string();
  out.push_back(std::move(config));
  auto text = read_file(*primary, cni::kMaxJsonBytes);
  std::string socket;
  CheckResult chain = text ? chain_check(primary->string(), *text, socket)
                           : CheckResult{.category = kCategory,
                                         .check = "weft-cni is chained after the primary plugin",
                                         .status = CheckStatus::Error,
                                         .detail = text.error().message};
  if (chain.status != CheckStatus::Ok) {
    chain.hint = install_hint(conf_dir);
  }
  out.push_back(std::move(chain));
  out.push_back(binary_check(bin_dir));
  if (!socket.empty()) {
    out.push_back(socket_check(socket));
  }
  return out;
}

}  // namespace weft::weftctl
