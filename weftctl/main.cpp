// weftctl: the operator's command line. For now it creates a new mesh's CA; see --help.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/identity/MeshCa.hpp"

namespace {

constexpr const char* kHelp = R"(Usage: weftctl COMMAND [OPTIONS]

Commands:
  ca create --dir DIR     Create a new mesh CA: an ECDSA P-256 trust anchor (self-signed) and
                          an issuer certificate signed by it, written as DIR/trust-anchor.crt,
                          DIR/issuer.crt and DIR/issuer.key (0600). Point every agent at them
                          (--trust-anchor-file, --issuer-cert-file, --issuer-key-file; the
                          defaults are /etc/weft/identity/...). The issuer signs each workload's
                          certificate inside the agent.
      --trust-domain TD   SPIFFE trust domain named in the certificates (default cluster.local)
      --anchor-days N     trust anchor lifetime in days (default 3650)
      --issuer-days N     issuer lifetime in days (default 365)
      --keep-root-key     also write DIR/trust-anchor.key (0600), needed to make a new issuer
                          later; without it the anchor key never leaves memory
      --force             replace existing files in DIR
  --help                  this text
  --version               print the version
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "weftctl: %s (see weftctl --help)\n", message.c_str());
  return 2;
}

bool parse_days(const char* text, long& out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 36500) {
    return false;
  }
  out = v;
  return true;
}

int ca_create(int argc, char** argv) {
  std::string dir;
  std::string trust_domain = "cluster.local";
  long anchor_days = 3650;
  long issuer_days = 365;
  bool keep_root_key = false;
  bool force = false;
  enum { kDir = 1, kTrustDomain, kAnchorDays, kIssuerDays, kKeepRootKey, kForce };
  const option options[] = {{"dir", required_argument, nullptr, kDir},
                            {"trust-domain", required_argument, nullptr, kTrustDomain},
                            {"anchor-days", required_argument, nullptr, kAnchorDays},
                            {"issuer-days", required_argument, nullptr, kIssuerDays},
                            {"keep-root-key", no_argument, nullptr, kKeepRootKey},
                            {"force", no_argument, nullptr, kForce},
                            {nullptr, 0, nullptr, 0}};
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "", options, nullptr)) != -1;) {
    switch (c) {
      case kDir:
        dir = optarg;
        break;
      case kTrustDomain:
        trust_domain = optarg;
        break;
      case kAnchorDays:
        if (!parse_days(optarg, anchor_days)) {
          return usage_error("--anchor-days wants a number of days from 1 to 36500");
        }
        break;
      case kIssuerDays:
        if (!parse_days(optarg, issuer_days)) {
          return usage_error("--issuer-days wants a number of days from 1 to 36500");
        }
        break;
      case kKeepRootKey:
        keep_root_key = true;
        break;
      case kForce:
        force = true;
        break;
      default:
        return usage_error(std::string("ca create: unknown or incomplete option ") +
                           argv[optind - 1]);
    }
  }
  if (optind != argc) {
    return usage_error(std::string("ca create: unexpected argument ") + argv[optind]);
  }
  if (dir.empty()) {
    return usage_error("ca create needs --dir DIR");
  }
  if (trust_domain.empty() || trust_domain.find_first_not_of(
                                  "abcdefghijklmnopqrstuvwxyz0123456789.-_") != std::string::npos) {
    return usage_error("--trust-domain must be lowercase letters, digits, '.', '-' or '_'");
  }
  using days = std::chrono::days;
  auto ca = weft::identity::MeshCa::create(trust_domain, days(anchor_days), days(issuer_days));
  if (!ca) {
    std::fprintf(stderr, "weftctl: ca create: %s\n", ca.error().message.c_str());
    return 1;
  }
  if (auto ok = ca->write(dir, keep_root_key, force); !ok) {
    std::fprintf(stderr, "weftctl: ca create: %s\n", ok.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s/{trust-anchor.crt,issuer.crt,issuer.key%s} for trust domain %s\n",
              dir.c_str(), keep_root_key ? ",trust-anchor.key" : "", trust_domain.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (command == "--version") {
    std::puts("weftctl " WEFT_VERSION);
    return 0;
  }
  if (command == "ca" && argc > 2 && std::string(argv[2]) == "create") {
    for (int i = 3; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
        std::fputs(kHelp, stdout);
        return 0;
      }
    }
    return ca_create(argc - 2, argv + 2);
  }
  if (command.empty()) {
    return usage_error("no command");
  }
  return usage_error("unknown command '" + command + (argc > 2 ? std::string(" ") + argv[2] : "") +
                     "'");
}
