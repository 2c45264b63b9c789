// weft's conventions for a CLI11 command tree, shared by weftctl and weft-cni: `--help` for the
// program and for each command (winning over anything else on the line), `help` as a synonym, the
// last of a repeated option wins (as with getopt), unknown arguments named before anything else,
// and every refusal reported as one line plus the `--help` that documents the command. Parsing has
// no side effects; the caller prints and exits (0 for help, 2 for a refusal).
//
// Header-only on purpose: only the binaries that declare dependency('CLI11') in their own
// meson.build (weftctl/, cni/) include it.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::cli {

/// What a command line asked for: a command to run, or a text to print on stdout.
struct Parsed {
  const CLI::App* command = nullptr;  ///< the command reached; nullptr when printing `text`
  std::string text;                   ///< --help or --version output
};

/// A refused command line (exit status 2).
struct Refusal {
  std::string reason;  ///< one line, prefixed with the command ("ca create: ...")
  std::string help;    ///< the help that documents that command, e.g. "weftctl ca create --help"
};

/// CLI11's help in weft's words: COMMAND, and the required options in the usage line
/// ("Usage: weftctl ca create --dir DIR [OPTIONS]") where CLI11 shows only [OPTIONS] (it names
/// positionals itself).
class Formatter : public CLI::Formatter {
 public:
  Formatter() {
    label("SUBCOMMAND", "COMMAND");
    column_width(30);
  }

  std::string make_usage(const CLI::App* app, std::string name) const override {
    for (const CLI::Option* opt : app->get_options(
             [](const CLI::Option* o) { return o->get_required() && o->nonpositional(); })) {
      name += " " + opt->get_name() + " " + opt->get_type_name();
    }
    return CLI::Formatter::make_usage(app, name);
  }
};

/// Applies the conventions to `root`; call it before adding options or commands, which
/// inherit them.
inline void prepare(CLI::App& root) {
  root.formatter(std::make_shared<Formatter>());
  root.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // parse() names unknown arguments itself, before any other complaint.
  root.allow_extras();
  // `PROGRAM help ...` is `PROGRAM --help`; the empty group hides it from the help.
  root.add_subcommand("help", "the same as --help")->group("");
  root.group("Commands");
}

namespace detail {

inline std::vector<const CLI::App*> visible(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
}

/// The command the user reached: the deepest command on the parsed path.
inline const CLI::App& deepest(const CLI::App& app) {
  const CLI::App* at = &app;
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands()) {
    at = subs.front();
  }
  return *at;
}

/// "weftctl ca create"
inline std::string path_of(const CLI::App& app) {
  const CLI::App* parent = app.get_parent();
  return parent == nullptr ? app.get_name() : path_of(*parent) + " " + app.get_name();
}

/// The complete commands under `app` (those with no commands of their own), depth first.
inline void add_leaves(const CLI::App& app, std::vector<const CLI::App*>& out) {
  for (const CLI::App* sub : visible(app)) {
    if (visible(*sub).empty()) {
      out.push_back(sub);
    } else {
      add_leaves(*sub, out);
    }
  }
}

/// "ca create" or "install, uninstall": the complete commands that may follow `app`.
inline std::string commands_of(const CLI::App& app) {
  std::vector<const CLI::App*> leaves;
  add_leaves(app, leaves);
  std::vector<std::string> names;
  for (const CLI::App* leaf : leaves) {
    names.push_back(path_of(*leaf).substr(path_of(app).size() + 1));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

/// The help of `app` under its full name, then that of every complete command beneath it, so
/// the program's --help alone documents every option.
inline std::string help_of(const CLI::App& app) {
  auto one = [](const CLI::App& at) {
    const CLI::App* parent = at.get_parent();
    return at.help(parent == nullptr ? "" : path_of(*parent));
  };
  std::string text = one(app);
  std::vector<const CLI::App*> leaves;
  add_leaves(app, leaves);
  for (const CLI::App* leaf : leaves) {
    text += "\n" + one(*leaf);
  }
  return text;
}

inline Refusal refuse(const CLI::App& at, std::string reason) {
  std::string path = path_of(at);
  if (auto space = path.find(' '); space != std::string::npos) {
    reason = path.substr(space + 1) + ": " + reason;
  }
  return Refusal{std::move(reason), path + " --help"};
}

/// Names the first argument no command took: an unknown option (`option_word` is "option" or
/// "flag"), an unknown command, or a stray argument.
inline Refusal refuse_extra(const CLI::App& at, const std::string& first,
                            std::string_view option_word) {
  if (first.starts_with('-')) {
    return refuse(at, fmt::format("unknown {} {}", option_word, first));
  }
  if (!visible(at).empty()) {
    return refuse(at, fmt::format("unknown command '{}' (expected: {})", first, commands_of(at)));
  }
  return refuse(at, "unexpected argument " + first);
}

}  // namespace detail

/// Parses argv[1..] against `root` (prepared with prepare()). Returns the command reached (a
/// command with no commands of its own), or the help/--version text; else a Refusal.
inline std::expected<Parsed, Refusal> parse(CLI::App& root, std::span<const std::string> args,
                                            std::string_view option_word) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses from the back
  try {
    root.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return Parsed{nullptr, detail::help_of(detail::deepest(root))};
  } catch (const CLI::CallForVersion& version) {
    return Parsed{nullptr, std::string(version.what()) + "\n"};
  } catch (const CLI::ParseError& e) {
    // CLI11 checks values before it looks at --help; we let --help win anywhere.
    if (std::ranges::any_of(args,
                            [](const std::string& a) { return a == "-h" || a == "--help"; })) {
      return Parsed{nullptr, detail::help_of(detail::deepest(root))};
    }
    // An unknown option explains a missing one (a typo in its name) better than the reverse.
    if (auto extras = root.remaining(true); !extras.empty()) {
      return std::unexpected(
          detail::refuse_extra(detail::deepest(root), extras.front(), option_word));
    }
    return std::unexpected(detail::refuse(detail::deepest(root), e.what()));
  }
  const CLI::App& at = detail::deepest(root);
  if (at.get_name() == "help" && at.get_group().empty()) {
    root.clear();  // else CLI11's help() describes the `help` command itself
    return Parsed{nullptr, detail::help_of(root)};
  }
  if (auto extras = root.remaining(true); !extras.empty()) {
    return std::unexpected(detail::refuse_extra(at, extras.front(), option_word));
  }
  if (!detail::visible(at).empty()) {
    return std::unexpected(
        detail::refuse(at, fmt::format("no command (expected: {})", detail::commands_of(at))));
  }
  return Parsed{&at, {}};
}

}  // namespace weft::cli
