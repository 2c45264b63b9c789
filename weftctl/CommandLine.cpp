#include "weftctl/CommandLine.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include "common/CommandTree.hpp"

namespace weft::weftctl {
namespace {

constexpr const char* kProgram = "weftctl: the operator's command line for a weft mesh.";

constexpr const char* kProgramFooter =
    "Each command documents itself: weftctl COMMAND --help (e.g. weftctl ca create --help).";

constexpr const char* kCa = "the mesh CA: the trust anchor and the issuer agents sign with";

constexpr const char* kCaCreate =
    "Create a new mesh CA: an ECDSA P-256 trust anchor (self-signed)\n"
    "and an issuer certificate signed by it.";

constexpr const char* kCaCreateFooter =
    R"(Writes DIR/trust-anchor.crt, DIR/issuer.crt and DIR/issuer.key (0600). Point every agent at
them (--trust-anchor-file, --issuer-cert-file, --issuer-key-file; the defaults are
/etc/weft/identity/...). The issuer signs each workload's certificate inside the agent.
Existing files in DIR are kept (exit status 1) unless --force is given.)";

/// A number of days, 1..36500, read as strtol reads base 10 (CLI11 alone would read "010" as
/// octal), and rewritten in canonical form before CLI11 converts it.
CLI::Validator days() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(value.c_str(), &end, 10);
        if (errno != 0 || end == value.c_str() || *end != '\0' || v < 1 || v > 36500) {
          return fmt::format("wants a number of days from 1 to 36500, not \"{}\"", value);
        }
        value = std::to_string(v);
        return {};
      },
      "");
}

/// A SPIFFE trust domain as weft writes it into certificates: lowercase, no scheme or path.
CLI::Validator trust_domain() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        if (value.empty() || value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") !=
                                 std::string::npos) {
          return fmt::format("must be lowercase letters, digits, '.', '-' or '_', not \"{}\"",
                             value);
        }
        return {};
      },
      "");
}

CLI::Validator non_empty(const char* what) {
  return CLI::Validator(
      [what](const std::string& value) -> std::string {
        return value.empty() ? fmt::format("wants {}, not an empty string", what) : "";
      },
      "");
}

CLI::App* add_ca_create(CLI::App& ca, CaCreateOptions& out) {
  CLI::App& create = *ca.add_subcommand("create", kCaCreate);
  create.footer(kCaCreateFooter);
  create.add_option("--dir", out.dir, "directory for the CA's files (created if missing)")
      ->type_name("DIR")
      ->required()
      ->check(non_empty("a directory"));
  create
      .add_option("--trust-domain", out.trust_domain,
                  "SPIFFE trust domain named in the certificates\n"
                  "(lowercase letters, digits, '.', '-', '_')")
      ->type_name("TD")
      ->capture_default_str()
      ->check(trust_domain());
  create.add_option("--anchor-days", out.anchor_days, "trust anchor lifetime in days, 1..36500")
      ->type_name("N")
      ->capture_default_str()
      ->transform(days());
  create.add_option("--issuer-days", out.issuer_days, "issuer lifetime in days, 1..36500")
      ->type_name("N")
      ->capture_default_str()
      ->transform(days());
  create
      .add_flag("--keep-root-key", out.keep_root_key,
                "also write DIR/trust-anchor.key (0600), needed to make a new\n"
                "issuer later; without it the anchor key never leaves memory")
      ->disable_flag_override();
  create.add_flag("--force", out.force, "replace existing files in DIR")->disable_flag_override();
  return &create;
}

/// The command tree, bound to one CommandLine.
struct Parser {
  CLI::App app{kProgram, "weftctl"};
  CLI::App* ca_create = nullptr;

  explicit Parser(CommandLine& out) {
    cli::prepare(app);
    app.set_version_flag("--version", "weftctl " WEFT_VERSION, "print the version and exit");
    CLI::App& ca = *app.add_subcommand("ca", kCa);
    ca_create = add_ca_create(ca, out.ca_create);
    // Set last: commands inherit the footer their parent has when they are added.
    app.footer(kProgramFooter);
  }
};

}  // namespace

std::expected<CommandLine, UsageError> parse_command_line(std::span<const std::string> args) {
  CommandLine out;
  Parser parser(out);
  auto parsed = cli::parse(parser.app, args, "option");
  if (!parsed) {
    return std::unexpected(UsageError{parsed.error().reason, parsed.error().help});
  }
  if (parsed->command == nullptr) {
    out.text = std::move(parsed->text);
    return out;
  }
  // The only complete command so far.
  out.action = CommandLine::Action::CaCreate;
  return out;
}

std::string usage_message(const UsageError& error) {
  return fmt::format("weftctl: {} (see {})\n", error.reason, error.help);
}

}  // namespace weft::weftctl
