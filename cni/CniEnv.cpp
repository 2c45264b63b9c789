#include "cni/CniEnv.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

namespace weft::cni {
namespace {

// IFNAMSIZ is 16 including the terminating NUL (linux/if.h).
constexpr std::size_t kMaxIfnameLength = 15;

bool valid_container_id(std::string_view id) {
  if (id.empty() || !std::isalnum(static_cast<unsigned char>(id.front()))) {
    return false;
  }
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

// The kernel's dev_valid_name(): not "." or "..", no '/', ':' or whitespace.
bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > kMaxIfnameLength || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
      return false;
    }
  }
  return true;
}

CniError env_error(std::string details) {
  return cni_error(ErrorCode::InvalidEnvironment, "invalid CNI environment", std::move(details));
}

std::vector<std::string> split_path(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto colon = text.find(':');
    if (auto part = text.substr(0, colon); !part.empty()) {
      out.emplace_back(part);
    }
    text = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  }
  return out;
}

}  // namespace

std::optional<Command> parse_command(std::string_view text) {
  for (Command c : {Command::Add, Command::Del, Command::Check, Command::Version, Command::Gc,
                    Command::Status}) {
    if (text == to_string(c)) {
      return c;
    }
  }
  return std::nullopt;
}

std::string_view to_string(Command command) {
  switch (command) {
    case Command::Add:
      return "ADD";
    case Command::Del:
      return "DEL";
    case Command::Check:
      return "CHECK";
    case Command::Version:
      return "VERSION";
    case Command::Gc:
      return "GC";
    case Command::Status:
      return "STATUS";
  }
  return "?";
}

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    // getenv is safe here: weft-cni is single-threaded and never modifies its environment.
    const char* value = std::getenv(name);
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

std::expected<Command, CniError> read_command(const EnvLookup& env) {
  auto text = env("CNI_COMMAND");
  if (!text || text->empty()) {
    return std::unexpected(env_error(
        "CNI_COMMAND is not set; weft-cni is a CNI plugin run by the container runtime (see "
        "weft-cni --help)"));
  }
  auto command = parse_command(*text);
  if (!command) {
    return std::unexpected(
        env_error(fmt::format("CNI_COMMAND \"{}\" is not ADD, DEL, CHECK or VERSION", *text)));
  }
  return *command;
}

std::expected<CniEnv, CniError> read_cni_env(const EnvLookup& env, Command command) {
  CniEnv out;
  out.command = command;
  out.container_id = env("CNI_CONTAINERID").value_or("");
  if (!valid_container_id(out.container_id)) {
    return std::unexpected(env_error(
        out.container_id.empty()
            ? std::string("CNI_CONTAINERID is not set")
            : fmt::format("CNI_CONTAINERID \"{}\" must start with a letter or digit and hold "
                          "only letters, digits, '_', '.' and '-'",
                          out.container_id)));
  }
  out.ifname = env("CNI_IFNAME").value_or("");
  if (!valid_ifname(out.ifname)) {
    return std::unexpected(env_error(
        out.ifname.empty() ? std::string("CNI_IFNAME is not set")
                           : fmt::format("CNI_IFNAME \"{}\" is not a valid interface name "
                                         "(at most 15 bytes, no '/', ':' or spaces)",
                                         out.ifname)));
  }
  out.netns = env("CNI_NETNS").value_or("");
  if (out.netns.empty() && command != Command::Del) {
    return std::unexpected(env_error("CNI_NETNS is not set"));
  }
  auto args = parse_cni_args(env("CNI_ARGS").value_or(""));
  if (!args) {
    return std::unexpected(args.error());
  }
  out.args = std::move(*args);
  out.cni_path = split_path(env("CNI_PATH").value_or(""));
  return out;
}

}  // namespace weft::cni
