#include "agent/metrics/FdMetrics.hpp"

#include <dirent.h>
#include <sys/resource.h>

namespace weft::agent {
namespace {

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    return 0;
  }
  double n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    n += entry->d_name[0] != '.' ? 1 : 0;
  }
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

prometheus::MetricFamily gauge(const char* name, const char* help, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.gauge.value = value;
  family.metric.push_back(std::move(m));
  return family;
}

}  // namespace

bool fd_exhausted_errno(int err) {
  return err == EMFILE || err == ENFILE;
}

bool fd_exhausted(const Error& error) {
  return error.kind == Error::Kind::System && fd_exhausted_errno(error.errnum);
}

FdMetrics::FdMetrics(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("weft_fd_exhaustion_total")
                     .Help(
                         "Connections and pods refused because the agent had no file "
                         "descriptor left (EMFILE, ENFILE), by what it was opening")
                     .Register(registry);
  exhausted_ = {&family.Add({{"operation", "accept"}}), &family.Add({{"operation", "upstream"}}),
                &family.Add({{"operation", "pod_mesh"}})};
}

void FdMetrics::exhausted(FdOperation operation) {
  exhausted_[static_cast<std::size_t>(operation)]->Increment();
}

std::array<prometheus::MetricFamily, 2> FdMetrics::collect() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return {gauge("process_open_fds", "Open file descriptors of the agent", open_fds()),
          gauge("process_max_fds", "The agent's limit of open file descriptors (soft)",
                static_cast<double>(limit.rlim_cur))};
}

}  // namespace weft::agent
