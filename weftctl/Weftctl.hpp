// weftctl as a function: parse the command line, run the command, return the exit status.
// main() only hands it argv and the standard streams, so tests can run it in-process.
#pragma once

#include <cstdio>
#include <span>
#include <string>

namespace weft::weftctl {

/// Runs weftctl with argv[1..] = `args`; results go to `out`, errors to `err`. Returns the exit
/// status: 0 on success (and for --help/--version), 1 when the command failed, 2
/// (kUsageExitStatus) when the command line was refused.
int run(std::span<const std::string> args, std::FILE* out, std::FILE* err);

}  // namespace weft::weftctl
