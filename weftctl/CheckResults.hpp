// `weftctl check`'s results and how they print: grouped by category in Linkerd's look (the
// category, a '-' underline, then one line per check: √ ok, ‼ warning, × error, the last two
// with the reason and a hint indented below), ending "Status check results are √" (× when a
// check failed); or a JSON list of {category, check, status, detail, hint}.
#pragma once

#include <span>
#include <string>

#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

enum class CheckStatus {
  Ok,
  Warning,  ///< works now, but an operator should act (expiring soon, versions differ)
  Error,    ///< broken, or will break the mesh: the exit status is 1
};

/// One check's outcome.
struct CheckResult {
  std::string category{};  ///< "weft-node", "weft-cni", "weft-identity", "weft-agents", ...
  std::string check{};     ///< what holds when it passes: "cgroup v2 is mounted"
  CheckStatus status = CheckStatus::Ok;
  std::string detail{};  ///< what was found (ok) or what is wrong; lines joined with '\n'
  std::string hint{};    ///< what to do about a warning or an error; empty when ok
};

/// "ok", "warning", "error" (the JSON's words).
const char* status_name(CheckStatus status);

/// Whether any result is an Error: weftctl check exits 1.
bool any_failed(std::span<const CheckResult> results);

/// The results as `format` asks (Table: Linkerd's lines; Wide: the same with what each ok check
/// found; Json: the list). In the table an ok check shows no detail, as in `linkerd check`.
std::string check_output(std::span<const CheckResult> results, OutputFormat format);

}  // namespace weft::weftctl
