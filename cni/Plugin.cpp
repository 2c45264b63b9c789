#include "cni/Plugin.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

#include "cni/AgentClient.hpp"
#include "cni/BoundedJson.hpp"
#include "cni/CniConfig.hpp"
#include "cni/CniVersion.hpp"
#include "common/Log.hpp"

namespace weft::cni {
namespace {

using nlohmann::ordered_json;

PluginOutcome error_outcome(std::string_view cni_version, const CniError& err) {
  log::error("cni_error", "code={} msg=\"{}\" details=\"{}\"", static_cast<int>(err.code), err.msg,
             err.details);
  return PluginOutcome{encode_error(cni_version, err), 1};
}

PodRegistration make_registration(PodRegistration::Op op, const CniEnv& env,
                                  const NetworkConfig* config) {
  PodRegistration reg;
  reg.op = op;
  reg.container_id = env.container_id;
  reg.netns = env.netns;
  reg.ifname = env.ifname;
  if (config != nullptr) {
    reg.ips = config->ips;
  }
  reg.pod_name = env.args.pod_name;
  reg.pod_namespace = env.args.pod_namespace;
  reg.pod_uid = env.args.pod_uid;
  return reg;
}

Result<std::string> read_config(const PluginIo& io) {
  if (!io.read_stdin) {
    return fail(Error::Kind::System, "no stdin");
  }
  return io.read_stdin();
}

/// DEL must not fail (the runtime would retry forever and the pod would never go away), so
/// every problem is logged and the agent is told whatever we could work out.
PluginOutcome run_del(const PluginIo& io) {
  std::string socket{kDefaultAgentSocket};
  std::chrono::milliseconds timeout = kDefaultTimeout;
  std::optional<NetworkConfig> config;
  if (auto text = read_config(io); !text) {
    log::warn("del_config_unreadable", "reason=\"{}\"", text.error().message);
  } else if (auto parsed = parse_network_config(*text, Command::Del); !parsed) {
    log::warn("del_config_invalid", "code={} details=\"{}\"", static_cast<int>(parsed.error().code),
              parsed.error().details);
  } else {
    config = std::move(*parsed);
    log::set_level(config->log_level);
    socket = config->agent_socket;
    timeout = config->timeout;
  }
  auto env = read_cni_env(io.env, Command::Del);
  if (!env) {
    log::warn("del_env_invalid", "details=\"{}\"", env.error().details);
    return PluginOutcome{};
  }
  auto reg = make_registration(PodRegistration::Op::Del, *env, config ? &*config : nullptr);
  if (auto ok = io.agent(socket, timeout, reg); !ok) {
    log::warn("del_not_acknowledged", "container={} code={} details=\"{}\"", env->container_id,
              static_cast<int>(ok.error().code), ok.error().details);
  } else {
    log::info("pod_removed", "container={} pod={}/{}", env->container_id, env->args.pod_namespace,
              env->args.pod_name);
  }
  return PluginOutcome{};
}

PluginOutcome run_add_or_check(const PluginIo& io, Command command) {
  auto text = read_config(io);
  if (!text) {
    bool too_big = text.error().kind == Error::Kind::Protocol;
    return error_outcome(
        kPluginCniVersion,
        cni_error(too_big ? ErrorCode::DecodingFailure : ErrorCode::IoFailure,
                  "failed to read the network config from stdin", text.error().message));
  }
  auto config = parse_network_config(*text, command);
  if (!config) {
    return error_outcome(sniff_cni_version(*text).value_or(std::string(kPluginCniVersion)),
                         config.error());
  }
  log::set_level(config->log_level);
  auto env = read_cni_env(io.env, command);
  if (!env) {
    return error_outcome(config->cni_version, env.error());
  }
  if (env->args.pod_name.empty() || env->args.pod_namespace.empty()) {
    // Not fatal: a non-Kubernetes runtime has no pod identity; the agent meshes it anonymously.
    log::warn("no_pod_identity",
              "container={} detail=\"CNI_ARGS lacks K8S_POD_NAME or "
              "K8S_POD_NAMESPACE\"",
              env->container_id);
  }
  const auto& excluded = config->exclude_namespaces;
  if (std::find(excluded.begin(), excluded.end(), env->args.pod_namespace) != excluded.end()) {
    log::info("pod_not_meshed", "container={} pod={}/{} reason=\"namespace excluded\"",
              env->container_id, env->args.pod_namespace, env->args.pod_name);
    return command == Command::Add ? PluginOutcome{config->prev_result->dump() + "\n", 0}
                                   : PluginOutcome{};
  }
  auto op = command == Command::Add ? PodRegistration::Op::Add : PodRegistration::Op::Check;
  auto reg = make_registration(op, *env, &*config);
  if (auto ok = io.agent(config->agent_socket, config->timeout, reg); !ok) {
    return error_outcome(config->cni_version, ok.error());
  }
  if (command == Command::Check) {
    log::info("pod_checked", "container={} pod={}/{}", env->container_id, env->args.pod_namespace,
              env->args.pod_name);
    return PluginOutcome{};
  }
  log::info("pod_added", "container={} pod={}/{} netns={} ips={}", env->container_id,
            env->args.pod_namespace, env->args.pod_name, env->netns, fmt::join(config->ips, ","));
  // A chained plugin that changes nothing returns its input result (CNI spec: "Chained
  // plugins ... must output the prevResult"), byte-for-byte in content and key order.
  return PluginOutcome{config->prev_result->dump() + "\n", 0};
}

PluginOutcome dispatch(const PluginIo& io) {
  auto command = read_command(io.env);
  if (!command) {
    return error_outcome(kPluginCniVersion, command.error());
  }
  switch (*command) {
    case Command::Version:
      return PluginOutcome{encode_version_info(), 0};
    case Command::Add:
    case Command::Check:
      return run_add_or_check(io, *command);
    case Command::Del:
      try {
        return run_del(io);
      } catch (const std::exception& e) {
        log::error("del_internal_error", "reason=\"{}\"", e.what());
        return PluginOutcome{};
      }
    case Command::Gc:
    case Command::Status:
      break;
  }
  return error_outcome(
      kPluginCniVersion,
      cni_error(ErrorCode::InvalidEnvironment,
                fmt::format("CNI_COMMAND {} is not supported", to_string(*command)),
                fmt::format("weft-cni implements CNI {} (ADD, DEL, CHECK, VERSION); {} arrived "
                            "in CNI 1.1",
                            kPluginCniVersion, to_string(*command))));
}

}  // namespace

PluginOutcome run_plugin(const PluginIo& io) noexcept {
  // Like istio's panic-recovery defer: whatever escapes still reaches the runtime as a CNI
  // error instead of a crash with empty stdout.
  try {
    return dispatch(io);
  } catch (const std::exception& e) {
    try {
      return error_outcome(kPluginCniVersion,
                           cni_error(ErrorCode::Internal, "weft-cni internal error", e.what()));
    } catch (...) {
    }
  } catch (...) {
  }
  return PluginOutcome{
      R"({"cniVersion":"1.0.0","code":999,"msg":"weft-cni internal error","details":""})"
      "\n",
      1};
}

Result<std::string> read_all_stdin(std::size_t limit) {
  std::string out;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n == 0) {
      return out;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_errno("read(stdin)");
    }
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      return fail(Error::Kind::Protocol,
                  fmt::format("the network config is larger than {} bytes", limit));
    }
  }
}

AgentCall real_agent() {
  return [](const std::string& socket, std::chrono::milliseconds timeout,
            const PodRegistration& reg) { return AgentClient(socket, timeout).submit(reg); };
}

}  // namespace weft::cni
