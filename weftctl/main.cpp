// weftctl: the operator's command line (a new mesh's CA, the agents' golden signals); see --help.
#include <cstdio>
#include <string>
#include <vector>

#include "weftctl/Weftctl.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return weft::weftctl::run(args, stdout, stderr);
}
