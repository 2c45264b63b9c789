// Fuzzes what weft-cni reads from untrusted bytes: the network config on stdin (for each
// command), CNI_ARGS, and the primary CNI config file the installer edits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cni/BoundedJson.hpp"
#include "cni/CniArgs.hpp"
#include "cni/CniConfig.hpp"
#include "cni/CniError.hpp"
#include "cni/ConflistEdit.hpp"
#include "fuzz/Check.hpp"

namespace {

using namespace weft::cni;

using weft::fuzz::check;

void check_config(std::string_view text) {
  for (Command command : {Command::Add, Command::Check, Command::Del}) {
    auto config = parse_network_config(text, command);
    if (!config) {
      // Every failure must still encode as a CNI error object.
      (void)encode_error("1.0.0", config.error());
      continue;
    }
    if (command != Command::Del && (!config->prev_result || config->ips.empty())) {
      __builtin_trap();
    }
    if (config->prev_result) {
      // What ADD prints must decode back to the same value.
      // (Not parse_bounded_json: "1E9" prints as "1000000000.0", so the output may be longer.)
      auto again = nlohmann::ordered_json::parse(config->prev_result->dump(), nullptr, false);
      if (again.is_discarded() || again != *config->prev_result) {
        __builtin_trap();
      }
    }
  }
}

void check_installer(std::string_view text) {
  WeftEntry entry;
  auto first = plan_install("10-fuzz.conflist", text, entry);
  if (!first) {
    return;
  }
  // Idempotent: installing into our own output changes nothing.
  auto second = plan_install(first->file_name, first->content, entry);
  if (!second || second->changed || second->content != first->content) {
    __builtin_trap();
  }
  // Exactly one weft-cni entry, and uninstall removes it.
  auto removed = plan_uninstall(first->file_name, first->content);
  if (!removed || !removed->changed) {
    __builtin_trap();
  }
  auto doc = parse_bounded_json(removed->content);
  if (!doc) {
    __builtin_trap();
  }
  for (const auto& plugin : (*doc)["plugins"]) {
    if (plugin.value("type", "") == kPluginType) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_cni_args(text);
  if (!parse_bounded_json(text)) {
    // Most mutants are not JSON: every command and the installer then fail on the same first
    // step (a thrown and caught parse error, the slowest path under ASan), so one of them is
    // enough to cover the error's encoding.
    auto config = parse_network_config(text, Command::Add);
    check(!config);
    (void)encode_error("1.0.0", config.error());
    return 0;
  }
  check_config(text);
  check_installer(text);
  return 0;
}
