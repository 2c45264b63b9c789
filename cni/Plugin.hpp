// The CNI plugin proper: one invocation in, stdout text and exit status out. Thin on purpose
// (after istio's cni/pkg/plugin): decode, hand the pod to weft-agent, echo prevResult.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <string>

#include "cni/CniEnv.hpp"
#include "cni/CniError.hpp"
#include "common/Error.hpp"
#include "common/PodRegistration.hpp"

namespace weft::cni {

/// Sends one registration to the agent at `socket` within `timeout` (AgentClient::submit).
using AgentCall = std::function<std::expected<void, CniError>(
    const std::string& socket, std::chrono::milliseconds timeout, const PodRegistration& reg)>;

/// Everything the plugin touches outside itself, injected so tests run it in-process.
struct PluginIo {
  EnvLookup env;                                    ///< the CNI_* variables
  std::function<Result<std::string>()> read_stdin;  ///< the whole network config
  AgentCall agent;                                  ///< the node agent
};

/// What to write on stdout, and the exit status.
struct PluginOutcome {
  std::string stdout_text;
  int exit_status = 0;
};

/// Runs one CNI command:
///   ADD     registers the pod (op add), then prints prevResult unchanged;
///   DEL     tells the agent (op del) best-effort: always exit 0 with empty stdout;
///   CHECK   asks the agent (op check): success only if it answers ok;
///   VERSION prints the supported versions; GC, STATUS and anything else is error code 4.
/// Failures print a CNI error object and exit 1. Never throws: an unexpected exception also
/// becomes a CNI error.
PluginOutcome run_plugin(const PluginIo& io) noexcept;

/// Reads stdin to EOF, at most `limit` bytes (more is a Protocol error).
Result<std::string> read_all_stdin(std::size_t limit);

/// The production AgentCall: AgentClient(socket, timeout).submit(reg).
AgentCall real_agent();

}  // namespace weft::cni
