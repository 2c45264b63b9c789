// weft-agent: the node agent. See --help and ARCHITECTURE.md.
#include <mimalloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "agent/Agent.hpp"
#include "agent/config/Config.hpp"
#include "agent/kube/WatchTable.hpp"
#include "agent/loop/FreedMemory.hpp"
#include "agent/redirect/Redirector.hpp"
#include "common/Log.hpp"

namespace {

// Every meshed pod costs the agent descriptors for its listeners and every proxied connection
// one or two (README "Limits"): the common default soft limit of 1024 is about a hundred pods.
// The hard limit is the most the agent may have without privileges it should not need.
void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  rlim_t was = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (was != limit.rlim_max && ::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    weft::log::warn("agent.fd_limit", "soft={} hard={} error=\"{}\" (could not raise it)", was,
                    limit.rlim_max, std::strerror(errno));
    return;
  }
  weft::log::info("agent.fd_limit", "soft={} hard={} was={}", limit.rlim_cur, limit.rlim_max, was);
}

// Returns what this thread's mimalloc heap keeps (see main() on mi_option_decommit_delay).
void purge_mimalloc() {
  mi_collect(true);
}

}  // namespace

int main(int argc, char** argv) {
  using weft::agent::Invocation;
  weft::log::set_program("weft-agent");
  auto inv = weft::agent::parse_command_line(argc, argv);
  if (!inv) {
    std::fprintf(stderr, "weft-agent: %s\n", inv.error().message.c_str());
    return 2;
  }
  switch (inv->command) {
    case Invocation::Command::Help:
      std::fputs(weft::agent::help_text().c_str(), stdout);
      return 0;
    case Invocation::Command::CheckConfig:
      std::printf("weft-agent: settings ok: %s\n", weft::agent::describe(inv->config).c_str());
      return 0;
    case Invocation::Command::PrintRbac:
      std::puts(weft::kube::rbac_rules_json().c_str());
      return 0;
    case Invocation::Command::Version:
      std::puts("weft-agent " WEFT_VERSION);
      return 0;
    case Invocation::Command::Uninstall: {
      auto ok = weft::redirect::Redirector::uninstall(inv->config.bpffs_dir);
      if (!ok) {
        std::fprintf(stderr, "weft-agent: uninstall: %s\n", ok.error().message.c_str());
        return 1;
      }
      return 0;
    }
    case Invocation::Command::Run:
      break;
  }
  weft::log::Level level{};
  weft::log::parse_level(inv->config.log_level, level);
  weft::log::set_level(level);
  // Block the stop signals before any thread exists, so every thread inherits the mask and only
  // the control loop's signalfd sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  weft::log::info("agent.start", "version={} {}", WEFT_VERSION, weft::agent::describe(inv->config));
  raise_fd_limit();
  // The allocator is part of the agent's speed (bench/README.md): say when it is not in effect.
  std::unique_ptr<void, decltype(&std::free)> probe(std::malloc(64), &std::free);
  if (mi_is_in_heap_region(probe.get())) {
    // mimalloc keeps a page a thread freed committed for mi_option_decommit_delay (25 ms), and
    // decommits it only on a later allocation of that thread that needs a new page: a worker
    // gone quiet after a wave of connections never does, and mi_collect does not either
    // (bench/results/*-hardening.md: 5.6 KiB per idle HTTP connection and +14 % RSS after
    // 10,000 closed with the delay, 2.7 KiB and +8 % without). Freed pages go back at once
    // (bench/README.md has what that costs), unless MIMALLOC_DECOMMIT_DELAY says otherwise.
    if (std::getenv("MIMALLOC_DECOMMIT_DELAY") == nullptr) {
      mi_option_set(mi_option_decommit_delay, 0);
    }
    weft::proxy::set_memory_purge(&purge_mimalloc);
  } else {
    weft::log::warn("agent.allocator",
                    "malloc is not mimalloc's (version {}): another allocator "
                    "was preloaded or linked first",
                    mi_version());
  }
  auto agent = weft::agent::Agent::create(inv->config);
  if (!agent) {
    weft::log::error("agent.start_failed", "error=\"{}\"", agent.error().message);
    return 1;
  }
  if (auto ok = (*agent)->run(); !ok) {
    weft::log::error("agent.failed", "error=\"{}\"", ok.error().message);
    return 1;
  }
  return 0;
}
