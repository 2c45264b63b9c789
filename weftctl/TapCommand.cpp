#include "weftctl/TapCommand.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "weftctl/HttpGet.hpp"
#include "weftctl/HttpStream.hpp"
#include "weftctl/TapRecord.hpp"
#include "weftctl/TopTable.hpp"

namespace weft::weftctl {
namespace {

std::atomic<bool> g_interrupted = false;

void on_interrupt(int /*signal*/) {
  g_interrupted = true;
}

/// SIGINT and SIGTERM end the stream (cleanly) while one of these lives.
class InterruptScope {
 public:
  InterruptScope() {
    g_interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

/// The terminal in non-canonical, no-echo mode while top reads its keys; restored after.
class RawKeys {
 public:
  RawKeys() : active_(::isatty(STDIN_FILENO) == 1 && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    if (active_) {
      termios raw = saved_;
      raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
      ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
  }
  ~RawKeys() {
    if (active_) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
  }
  RawKeys(const RawKeys&) = delete;
  RawKeys& operator=(const RawKeys&) = delete;
  /// Waits up to `wait` for a key; true when it was q.
  bool quit_pressed(std::chrono::milliseconds wait) const {
    if (!active_) {
      std::this_thread::sleep_for(wait);
      return false;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    char key = 0;
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1 &&
           ::read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q');
  }

 private:
  termios saved_{};
  bool active_;
};

void add(std::string& query, std::string_view key, std::string_view value) {
  if (!value.empty()) {
    query += fmt::format("{}{}={}", query.empty() ? "" : "&", key, url_escape(value));
  }
}

/// (kind, name) of "deploy/web" or "ns".
std::pair<std::string, std::string> split_resource(const std::string& resource) {
  auto slash = resource.find('/');
  return {resource.substr(0, slash),
          slash == std::string::npos ? std::string() : resource.substr(slash + 1)};
}

bool is_namespace_kind(std::string_view kind) {
  return kind == "ns" || kind == "namespace" || kind == "namespaces";
}

}  // namespace

std::string tap_query(const TapOptions& o) {
  std::string query;
  auto [kind, name] = split_resource(o.resource);
  if (is_namespace_kind(kind)) {
    add(query, "namespace", name);
  } else if (kind == "po" || kind == "pod" || kind == "pods") {
    add(query, "pod", fmt::format("{}/{}", o.ns, name));
  } else {
    add(query, "namespace", o.all_namespaces ? "" : o.ns);
    add(query, "workload", name);
  }
  if (!o.to_resource.empty()) {
    auto [to_kind, to_name] = split_resource(o.to_resource);
    if (is_namespace_kind(to_kind)) {
      add(query, "to_namespace", to_name);
    } else {
      add(query, "to_namespace", o.to_ns.empty() ? o.ns : o.to_ns);
      add(query, "to_workload", to_name);
    }
  }
  add(query, "method", o.method);
  add(query, "authority", o.authority);
  add(query, "path", o.path);
  add(query, "status", o.status);
  add(query, "direction", o.direction);
  add(query, "max_rps", o.max_rps != 0 ? std::to_string(o.max_rps) : "");
  return query;
}

int run_tap(const TapOptions& o, bool top, std::FILE* out, std::FILE* err) {
  InterruptScope interrupts;
  std::atomic<bool> done = false;
  auto deadline = o.duration.count() > 0
                      ? std::optional(std::chrono::steady_clock::now() + o.duration)
                      : std::nullopt;
  auto stop = [&] {
    return done.load() || g_interrupted.load() ||
           (deadline && std::chrono::steady_clock::now() >= *deadline);
  };
  std::mutex mutex;  // out, table, failure
  TopTable table;
  std::optional<std::string> failure;
  std::string query = tap_query(o);
  std::vector<std::thread> streams;
  for (const std::string& agent : o.agents) {
    streams.emplace_back([&, agent] {
      std::optional<ClientTls> tls;
      if (!o.cacert.empty()) {
        tls = ClientTls{o.cert, o.key, o.cacert};
      }
      std::string url = fmt::format("{}://{}/tap?{}", tls ? "https" : "http", agent, query);
      auto on_line = [&](std::string_view line) {
        std::string error;
        auto record = parse_tap_line(line, &error);
        std::lock_guard lock(mutex);
        if (!record) {
          if (!error.empty() && !failure) {
            failure = fmt::format("agent {}: not a tap event ({}): {:.200}", agent, error, line);
            done = true;
          }
          return;
        }
        if (top) {
          table.add(*record);
        } else {
          std::fputs(tap_lines(*record, o.format).c_str(), out);
          std::fflush(out);
        }
      };
      auto ok =
          http_stream_lines(url, on_line, stop, std::chrono::seconds(5), tls ? &*tls : nullptr);
      std::lock_guard lock(mutex);
      if (!ok && !failure) {
        failure = fmt::format("agent {}: {}", agent, ok.error().message);
        done = true;
      }
      if (ok && !stop() && !failure) {
        failure = fmt::format("agent {}: the tap stream ended", agent);
        done = true;
      }
    });
  }
  bool screen = top && ::isatty(::fileno(out)) == 1 && o.format != OutputFormat::Json;
  if (top) {
    RawKeys keys;
    if (screen) {
      std::fputs("\x1b[?1049h", out);  // the alternate screen, left as it was on exit
    }
    while (!stop()) {
      if (screen) {
        std::lock_guard lock(mutex);
        fmt::print(out, "\x1b[H\x1b[2Jweftctl top {} ({} agent{}; q to quit)\n\n{}", o.resource,
                   o.agents.size(), o.agents.size() == 1 ? "" : "s", table.table(40));
        std::fflush(out);
      }
      if (keys.quit_pressed(std::chrono::seconds(1))) {
        done = true;
      }
    }
    if (screen) {
      std::fputs("\x1b[?1049l", out);
    }
  }
  for (std::thread& t : streams) {
    t.join();
  }
  if (failure) {
    fmt::print(err, "weftctl: {}: {}\n", top ? "top" : "tap", *failure);
    return 1;
  }
  if (top) {
    std::fputs(o.format == OutputFormat::Json ? table.json().c_str() : table.table(1000).c_str(),
               out);
  }
  return 0;
}

}  // namespace weft::weftctl
