#include "common/PodRegistration.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace weft {
namespace {

using nlohmann::json;

Result<std::string> required_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return fail(Error::Kind::Protocol, fmt::format("field \"{}\" must be a non-empty string", key));
  }
  return it->get<std::string>();
}

std::string optional_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

Result<json> parse_object(std::string_view text) {
  if (text.size() > kMaxRegistrationBytes) {
    return fail(Error::Kind::Protocol, "message too long");
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(Error::Kind::Protocol, "not a JSON object");
  }
  return doc;
}

}  // namespace

std::string_view to_string(PodRegistration::Op op) {
  switch (op) {
    case PodRegistration::Op::Add:
      return "add";
    case PodRegistration::Op::Del:
      return "del";
    case PodRegistration::Op::Check:
      return "check";
    case PodRegistration::Op::Handover:
      return "handover";
  }
  return "?";
}

std::string encode(const PodRegistration& reg) {
  if (reg.op == PodRegistration::Op::Handover) {
    return json{{"op", to_string(reg.op)}}.dump() + "\n";
  }
  json doc = {{"op", to_string(reg.op)},
              {"containerId", reg.container_id},
              {"netns", reg.netns},
              {"ifname", reg.ifname},
              {"ips", reg.ips},
              {"podName", reg.pod_name},
              {"podNamespace", reg.pod_namespace},
              {"podUid", reg.pod_uid}};
  return doc.dump() + "\n";
}

std::string encode(const RegistrationReply& reply) {
  json doc = {{"ok", reply.ok}};
  if (!reply.ok) {
    doc["error"] = reply.error;
  }
  return doc.dump() + "\n";
}

Result<PodRegistration> decode_registration(std::string_view text) {
  auto doc = parse_object(text);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  PodRegistration reg;
  auto op = required_string(*doc, "op");
  if (!op) {
    return std::unexpected(op.error());
  }
  if (*op == "add") {
    reg.op = PodRegistration::Op::Add;
  } else if (*op == "del") {
    reg.op = PodRegistration::Op::Del;
  } else if (*op == "check") {
    reg.op = PodRegistration::Op::Check;
  } else if (*op == "handover") {
    reg.op = PodRegistration::Op::Handover;
    return reg;  // names no pod
  } else {
    return fail(Error::Kind::Protocol, fmt::format("unknown op \"{}\"", *op));
  }
  auto id = required_string(*doc, "containerId");
  if (!id) {
    return std::unexpected(id.error());
  }
  reg.container_id = std::move(*id);
  // DEL may arrive after the netns is gone (CNI spec: DEL must tolerate missing resources).
  reg.netns = optional_string(*doc, "netns");
  reg.ifname = optional_string(*doc, "ifname");
  if (reg.op != PodRegistration::Op::Del && (reg.netns.empty() || reg.ifname.empty())) {
    return fail(Error::Kind::Protocol, "fields \"netns\" and \"ifname\" are required");
  }
  if (auto ips = doc->find("ips"); ips != doc->end()) {
    if (!ips->is_array()) {
      return fail(Error::Kind::Protocol, "field \"ips\" must be an array of strings");
    }
    for (const auto& ip : *ips) {
      if (!ip.is_string()) {
        return fail(Error::Kind::Protocol, "field \"ips\" must be an array of strings");
      }
      reg.ips.push_back(ip.get<std::string>());
    }
  }
  reg.pod_name = optional_string(*doc, "podName");
  reg.pod_namespace = optional_string(*doc, "podNamespace");
  reg.pod_uid = optional_string(*doc, "podUid");
  return reg;
}

Result<RegistrationReply> decode_reply(std::string_view text) {
  auto doc = parse_object(text);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  auto ok = doc->find("ok");
  if (ok == doc->end() || !ok->is_boolean()) {
    return fail(Error::Kind::Protocol, "field \"ok\" must be a boolean");
  }
  RegistrationReply reply;
  reply.ok = ok->get<bool>();
  reply.error = optional_string(*doc, "error");
  return reply;
}

}  // namespace weft
