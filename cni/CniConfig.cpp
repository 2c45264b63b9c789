#include "cni/CniConfig.hpp"

#include <fmt/format.h>
#include <sys/un.h>

#include <algorithm>

#include "cni/BoundedJson.hpp"
#include "cni/CniVersion.hpp"
#include "common/IpAddr.hpp"

namespace weft::cni {
namespace {

using nlohmann::ordered_json;

CniError decoding(std::string details) {
  return cni_error(ErrorCode::DecodingFailure, "failed to decode the network config",
                   std::move(details));
}

CniError invalid(std::string details) {
  return cni_error(ErrorCode::InvalidNetworkConfig, "invalid network config", std::move(details));
}

std::string_view type_name(const ordered_json& value) {
  return value.type_name();
}

/// A string field: absent is nullopt (the caller decides whether that is allowed), present
/// with another type is a decoding failure.
std::expected<std::optional<std::string>, CniError> string_field(const ordered_json& doc,
                                                                 const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    return std::optional<std::string>{};
  }
  if (!it->is_string()) {
    return std::unexpected(
        decoding(fmt::format("field \"{}\" must be a string, not {}", key, type_name(*it))));
  }
  return std::optional<std::string>{it->get<std::string>()};
}

std::expected<std::string, CniError> required_string(const ordered_json& doc, const char* key) {
  auto value = string_field(doc, key);
  if (!value) {
    return std::unexpected(value.error());
  }
  if (!*value || (*value)->empty()) {
    return std::unexpected(invalid(fmt::format("field \"{}\" is required", key)));
  }
  return std::move(**value);
}

std::expected<void, CniError> read_weft_fields(const ordered_json& doc, NetworkConfig& out) {
  auto socket = string_field(doc, "agentSocket");
  if (!socket) {
    return std::unexpected(socket.error());
  }
  if (*socket) {
    // sun_path holds 108 bytes including the NUL; a relative path would depend on the
    // runtime's working directory.
    if ((*socket)->empty() || (*socket)->front() != '/' ||
        (*socket)->size() >= sizeof(sockaddr_un{}.sun_path)) {
      return std::unexpected(invalid(fmt::format(
          "field \"agentSocket\" must be an absolute path shorter than {} bytes, not \"{}\"",
          sizeof(sockaddr_un{}.sun_path), **socket)));
    }
    out.agent_socket = std::move(**socket);
  }
  if (auto it = doc.find("timeoutMs"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer()) {
      return std::unexpected(
          decoding(fmt::format("field \"timeoutMs\" must be an integer, not {}", type_name(*it))));
    }
    // The parser stores non-negative integers as unsigned, so a negative value fails here too.
    auto max = static_cast<std::uint64_t>(kMaxTimeout.count());
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 ||
        it->get<std::uint64_t>() > max) {
      return std::unexpected(invalid(
          fmt::format("field \"timeoutMs\" must be between 1 and {}, not {}", max, it->dump())));
    }
    out.timeout = std::chrono::milliseconds(it->get<std::int64_t>());
  }
  if (auto it = doc.find("excludeNamespaces"); it != doc.end() && !it->is_null()) {
    if (!it->is_array() ||
        std::any_of(it->begin(), it->end(), [](const auto& v) { return !v.is_string(); })) {
      return std::unexpected(decoding(fmt::format(
          "field \"excludeNamespaces\" must be an array of strings, not {}", it->dump())));
    }
    std::vector<std::string> names;
    for (const auto& v : *it) {
      names.push_back(v.get<std::string>());
    }
    if (auto error = excluded_namespaces_error(names); !error.empty()) {
      return std::unexpected(invalid(fmt::format("field \"excludeNamespaces\" {}", error)));
    }
    out.exclude_namespaces = std::move(names);
  }
  auto level = string_field(doc, "logLevel");
  if (!level) {
    return std::unexpected(level.error());
  }
  if (*level && !log::parse_level(**level, out.log_level)) {
    return std::unexpected(invalid(
        fmt::format("field \"logLevel\" must be debug, info, warn or error, not \"{}\"", **level)));
  }
  return {};
}

std::expected<void, CniError> read_prev_result(const ordered_json& doc, Command command,
                                               NetworkConfig& out) {
  auto it = doc.find("prevResult");
  bool needed = command == Command::Add || command == Command::Check;
  if (it == doc.end() || it->is_null()) {
    if (needed) {
      return std::unexpected(
          invalid("weft-cni must be chained after a plugin that assigns IPs: the config has no "
                  "prevResult"));
    }
    return {};
  }
  if (!it->is_object()) {
    return std::unexpected(
        decoding(fmt::format("field \"prevResult\" must be an object, not {}", type_name(*it))));
  }
  if (auto ips = it->find("ips"); ips != it->end() && !ips->is_null()) {
    if (!ips->is_array()) {
      return std::unexpected(decoding(
          fmt::format("field \"prevResult.ips\" must be an array, not {}", type_name(*ips))));
    }
    for (const auto& ip : *ips) {
      const ordered_json* address = nullptr;
      if (ip.is_object()) {
        if (auto a = ip.find("address"); a != ip.end() && a->is_string()) {
          address = &*a;
        }
      }
      if (address == nullptr) {
        return std::unexpected(
            decoding("each entry of \"prevResult.ips\" must be an object with a string "
                     "\"address\""));
      }
      const auto& text = address->get_ref<const std::string&>();
      if (!Cidr::parse(text)) {
        return std::unexpected(invalid(fmt::format(
            "prevResult.ips[].address \"{}\" is not an address in CIDR notation", text)));
      }
      out.ips.push_back(text);
    }
  }
  if (needed && out.ips.empty()) {
    return std::unexpected(
        invalid("weft-cni must be chained after a plugin that assigns IPs: prevResult has no ips"));
  }
  out.prev_result = *it;
  return {};
}

}  // namespace

std::string excluded_namespaces_error(const std::vector<std::string>& names) {
  if (names.size() > kMaxExcludedNamespaces) {
    return fmt::format("lists {} namespaces, more than {}", names.size(), kMaxExcludedNamespaces);
  }
  for (const auto& name : names) {
    if (name.empty() || name.size() > 63) {
      return fmt::format("holds \"{}\", not a namespace name (1 to 63 characters)", name);
    }
  }
  return {};
}

std::expected<NetworkConfig, CniError> parse_network_config(std::string_view text,
                                                            Command command) {
  auto doc = parse_bounded_json(text);
  if (!doc) {
    return std::unexpected(decoding(doc.error().message));
  }
  if (!doc->is_object()) {
    return std::unexpected(
        decoding(fmt::format("the network config must be a JSON object, not {}", type_name(*doc))));
  }
  NetworkConfig out;
  auto version = required_string(*doc, "cniVersion");
  if (!version) {
    return std::unexpected(version.error());
  }
  if (!is_supported_version(*version)) {
    return std::unexpected(
        cni_error(ErrorCode::IncompatibleVersion, "incompatible CNI version",
                  fmt::format("cniVersion \"{}\" is not supported; weft-cni supports {}", *version,
                              supported_versions_text())));
  }
  if (command == Command::Check && !supports_check(*version)) {
    return std::unexpected(cni_error(
        ErrorCode::IncompatibleVersion, "incompatible CNI version",
        fmt::format("CHECK needs cniVersion 0.4.0 or later, the config has \"{}\"", *version)));
  }
  out.cni_version = std::move(*version);
  auto name = required_string(*doc, "name");
  if (!name) {
    return std::unexpected(name.error());
  }
  out.name = std::move(*name);
  auto type = required_string(*doc, "type");
  if (!type) {
    return std::unexpected(type.error());
  }
  out.type = std::move(*type);
  if (auto ok = read_weft_fields(*doc, out); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = read_prev_result(*doc, command, out); !ok) {
    return std::unexpected(ok.error());
  }
  return out;
}

std::optional<std::string> sniff_cni_version(std::string_view text) {
  auto doc = parse_bounded_json(text);
  if (!doc || !doc->is_object()) {
    return std::nullopt;
  }
  auto it = doc->find("cniVersion");
  if (it == doc->end() || !it->is_string() || !is_supported_version(it->get<std::string>())) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace weft::cni
