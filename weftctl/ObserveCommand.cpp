#include "weftctl/ObserveCommand.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <ctime>
#include <thread>

#include "weftctl/FlowOutput.hpp"
#include "weftctl/HttpGet.hpp"

namespace weft::weftctl {
namespace {

constexpr auto kGetTimeout = std::chrono::seconds(5);
/// Without --last, --since or -f: as many as `hubble observe` prints.
constexpr std::size_t kDefaultLast = 20;

/// "2024-05-01T12:00:00.5Z" or with "+02:00" / "-05:00": Unix seconds.
std::optional<double> rfc3339(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return std::nullopt;
  }
  double seconds = static_cast<double>(timegm(&tm));
  std::string_view tail(rest);
  if (tail.starts_with('.')) {
    std::size_t digits = tail.find_first_not_of("0123456789", 1);
    digits = digits == std::string_view::npos ? tail.size() : digits;
    if (digits == 1) {
      return std::nullopt;
    }
    seconds += std::stod(std::string(tail.substr(0, digits)));
    tail.remove_prefix(digits);
  }
  if (tail == "Z" || tail == "z") {
    return seconds;
  }
  if (tail.size() == 6 && (tail[0] == '+' || tail[0] == '-') && tail[3] == ':') {
    int hours = 0;
    int minutes = 0;
    auto h = std::from_chars(tail.data() + 1, tail.data() + 3, hours);
    auto m = std::from_chars(tail.data() + 4, tail.data() + 6, minutes);
    if (h.ec != std::errc() || m.ec != std::errc() || h.ptr != tail.data() + 3 ||
        m.ptr != tail.data() + 6) {
      return std::nullopt;
    }
    double offset = hours * 3600.0 + minutes * 60.0;
    return tail[0] == '+' ? seconds - offset : seconds + offset;
  }
  return std::nullopt;
}

struct Agent {
  std::string address;
  uint64_t cursor = 0;  ///< -f: the newest sequence number taken from it
};

/// GET /observe on `agent` with `keys`; its records.
Result<std::vector<Flow>> fetch(const std::string& agent,
                                const std::vector<std::pair<std::string, std::string>>& keys) {
  std::string query = observe_query(keys);
  auto body =
      http_get("http://" + agent + "/observe" + (query.empty() ? "" : "?" + query), kGetTimeout);
  if (!body) {
    return fail(body.error().kind, fmt::format("agent {}: {}", agent, body.error().message));
  }
  auto flows = parse_flows(*body);
  if (!flows) {
    return fail(Error::Kind::Protocol,
                fmt::format("agent {}: /observe {}", agent, flows.error().message));
  }
  return flows;
}

}  // namespace

Result<double> parse_since(const std::string& text, std::chrono::system_clock::time_point now) {
  double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  double n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(end, text.data() + text.size());
  if (ec == std::errc() && end != text.data() && std::isfinite(n) && n >= 0) {
    double scale = unit == "ms"  ? 0.001
                   : unit == "s" ? 1
                   : unit == "m" ? 60
                   : unit == "h" ? 3600
                   : unit == "d" ? 86400
                                 : -1;
    if (scale > 0) {
      return std::max(0.0, now_s - n * scale);
    }
  }
  if (auto t = rfc3339(text)) {
    return *t;
  }
  return fail(Error::Kind::Config, fmt::format("wants a duration (30s, 5m, 1h) or an RFC 3339 time "
                                               "(2024-05-01T12:00:00Z), not \"{}\"",
                                               text));
}

std::string observe_query(const std::vector<std::pair<std::string, std::string>>& keys) {
  std::string out;
  for (const auto& [key, value] : keys) {
    out += fmt::format("{}{}={}", out.empty() ? "" : "&", key, url_escape(value));
  }
  return out;
}

int observe_command(const ObserveOptions& o, std::FILE* out, std::FILE* err) {
  std::vector<std::pair<std::string, std::string>> keys = o.filters;
  if (!o.since.empty()) {
    auto since = parse_since(o.since, std::chrono::system_clock::now());
    if (!since) {
      fmt::print(err, "weftctl: observe: --since {}\n", since.error().message);
      return 2;
    }
    keys.emplace_back("since", fmt::format("{:.6f}", *since));
  }
  std::optional<std::size_t> last = o.last;
  if (!last && o.since.empty() && !o.follow) {
    last = kDefaultLast;
  }
  if (last) {
    keys.emplace_back("last", std::to_string(*last));
  }
  std::vector<Agent> agents;
  for (const std::string& a : o.agents) {
    agents.push_back({a, 0});
  }
  // A follower starts after the newest record of each agent at this moment, whether or not it
  // matches: asked before the first query, so nothing falls between the two.
  if (o.follow) {
    for (Agent& a : agents) {
      auto newest = fetch(a.address, {{"last", "1"}});
      if (!newest) {
        fmt::print(err, "weftctl: observe: {}\n", newest.error().message);
        return 1;
      }
      a.cursor = newest->empty() ? 0 : newest->back().seq;
    }
  }
  std::vector<std::vector<Flow>> per_agent;
  for (Agent& a : agents) {
    auto flows = fetch(a.address, keys);
    if (!flows) {
      fmt::print(err, "weftctl: observe: {}\n", flows.error().message);
      return 1;
    }
    for (const Flow& f : *flows) {
      a.cursor = std::max(a.cursor, f.seq);
    }
    per_agent.push_back(std::move(*flows));
  }
  std::vector<Flow> flows = merge_flows(std::move(per_agent));
  if (last && flows.size() > *last) {
    flows.erase(flows.begin(), flows.end() - static_cast<std::ptrdiff_t>(*last));
  }
  if (flows.empty() && !o.follow && o.format != OutputFormat::Json) {
    fmt::print(out, "No flows found.\n");
    return 0;
  }
  bool header = flows.empty() && o.format != OutputFormat::Json;
  if (!flows.empty() || o.format == OutputFormat::Json) {
    fmt::print(out, "{}", flow_output(flows, o.format));
  }
  std::fflush(out);
  if (!o.follow) {
    return 0;
  }
  // Polls: each agent's records after the newest taken from it, with the same filters.
  std::vector<std::pair<std::string, std::string>> follow_keys = o.filters;
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto next = std::chrono::steady_clock::now() + o.poll;
    if (o.follow_for.count() > 0 && next - start > o.follow_for) {
      return 0;
    }
    std::this_thread::sleep_until(next);
    per_agent.clear();
    for (Agent& a : agents) {
      auto keys_now = follow_keys;
      keys_now.emplace_back("after", std::to_string(a.cursor));
      auto polled = fetch(a.address, keys_now);
      if (!polled) {
        fmt::print(err, "weftctl: observe: {}\n", polled.error().message);  // and go on
        continue;
      }
      for (const Flow& f : *polled) {
        a.cursor = std::max(a.cursor, f.seq);
      }
      per_agent.push_back(std::move(*polled));
    }
    flows = merge_flows(std::move(per_agent));
    if (!flows.empty()) {
      fmt::print(out, "{}", flow_output(flows, o.format, header));
      header = false;
      std::fflush(out);
    }
  }
}

}  // namespace weft::weftctl
