// `weftctl check`: runs the checks CheckOptions asks for, in Linkerd's order (this node, its
// CNI, the mesh's identity, the agents, Prometheus), and prints them.
#pragma once

#include <cstdio>

#include "weftctl/CommandLine.hpp"

namespace weft::weftctl {

/// Prints every check's result to `out` as `o.format` says. Returns the exit status: 1 when a
/// check failed (×), else 0 (warnings included).
int check_command(const CheckOptions& o, std::FILE* out);

}  // namespace weft::weftctl
