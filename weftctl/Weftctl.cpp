#include "weftctl/Weftctl.hpp"

#include <fmt/format.h>

#include <chrono>

#include "agent/identity/MeshCa.hpp"
#include "weftctl/CommandLine.hpp"

namespace weft::weftctl {
namespace {

int ca_create(const CaCreateOptions& o, std::FILE* out, std::FILE* err) {
  using days = std::chrono::days;
  auto ca = identity::MeshCa::create(o.trust_domain, days(o.anchor_days), days(o.issuer_days));
  if (!ca) {
    fmt::print(err, "weftctl: ca create: {}\n", ca.error().message);
    return 1;
  }
  if (auto ok = ca->write(o.dir, o.keep_root_key, o.force); !ok) {
    fmt::print(err, "weftctl: ca create: {}\n", ok.error().message);
    return 1;
  }
  fmt::print(out, "wrote {}/{{trust-anchor.crt,issuer.crt,issuer.key{}}} for trust domain {}\n",
             o.dir, o.keep_root_key ? ",trust-anchor.key" : "", o.trust_domain);
  return 0;
}

}  // namespace

int run(std::span<const std::string> args, std::FILE* out, std::FILE* err) {
  auto cl = parse_command_line(args);
  if (!cl) {
    fmt::print(err, "{}", usage_message(cl.error()));
    return kUsageExitStatus;
  }
  switch (cl->action) {
    case CommandLine::Action::Print:
      fmt::print(out, "{}", cl->text);
      return 0;
    case CommandLine::Action::CaCreate:
      return ca_create(cl->ca_create, out, err);
  }
  return 1;
}

}  // namespace weft::weftctl
