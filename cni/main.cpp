// weft-cni entry point. stdout belongs to the CNI protocol: only the result or error object is
// ever written there (and --help); every log line goes to stderr.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cni/BoundedJson.hpp"
#include "cni/CommandLine.hpp"
#include "cni/Installer.hpp"
#include "cni/InstallerWatch.hpp"
#include "cni/Plugin.hpp"
#include "common/Fd.hpp"
#include "common/Log.hpp"

namespace {

using namespace weft;

void write_stdout(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      log::error("stdout_write_failed", "errno={}", errno);
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

int run_installer(const cni::CommandLine& cl) {
  log::set_level(cl.log_level);
  bool installing = cl.mode == cni::CommandLine::Mode::Install;
  // --watch: SIGTERM and SIGINT end the watch through a signalfd, never mid-write.
  Fd stop;
  if (installing && cl.installer.watch) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    stop = Fd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!stop) {
      log::error("install_failed", "reason=\"signalfd: {}\"", std::strerror(errno));
      return 1;
    }
  }
  auto ok = installing ? cni::install(cl.installer) : cni::uninstall(cl.installer);
  if (!ok) {
    log::error(installing ? "install_failed" : "uninstall_failed", "reason=\"{}\"",
               ok.error().message);
    return 1;
  }
  log::info(installing ? "install_done" : "uninstall_done", "conf_dir={} bin_dir={}",
            cl.installer.conf_dir.string(), cl.installer.bin_dir.string());
  if (stop) {
    if (auto watched = cni::keep_installed(cl.installer, stop.get()); !watched) {
      log::error("install_watch_failed", "reason=\"{}\"", watched.error().message);
      return 1;
    }
  }
  return 0;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cl = cni::parse_command_line(args);
  if (!cl) {
    log::error("bad_command_line", "reason=\"{}\" hint=\"{}\"", cl.error().reason, cl.error().help);
    return cni::kUsageExitStatus;
  }
  switch (cl->mode) {
    case cni::CommandLine::Mode::Help:
      write_stdout(cl->help);
      return 0;
    case cni::CommandLine::Mode::Install:
    case cni::CommandLine::Mode::Uninstall:
      return run_installer(*cl);
    case cni::CommandLine::Mode::Plugin:
      break;
  }
  cni::PluginIo io{cni::process_env(), [] { return cni::read_all_stdin(cni::kMaxJsonBytes); },
                   cni::real_agent()};
  auto outcome = cni::run_plugin(io);
  write_stdout(outcome.stdout_text);
  return outcome.exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  weft::log::set_program("weft-cni");
  // A runtime that stops reading our stdout must not kill us mid-protocol with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    weft::log::error("fatal", "reason=\"{}\"", e.what());
  } catch (...) {
    weft::log::error("fatal", "reason=\"unknown exception\"");
  }
  return 1;
}
