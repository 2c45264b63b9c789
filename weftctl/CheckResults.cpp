#include "weftctl/CheckResults.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

namespace weft::weftctl {
namespace {

// The marks `linkerd check` prints.
constexpr std::string_view kOk = "\u221a";       // √
constexpr std::string_view kWarning = "\u203c";  // ‼
constexpr std::string_view kError = "\u00d7";    // ×

std::string_view mark(CheckStatus status) {
  return status == CheckStatus::Ok ? kOk : status == CheckStatus::Warning ? kWarning : kError;
}

/// Every line of `text`, indented by four spaces, each ending in '\n'.
std::string indented(std::string_view text, std::string_view prefix = {}) {
  std::string out;
  for (std::size_t start = 0; start < text.size();) {
    auto end = std::min(text.find('\n', start), text.size());
    out += fmt::format("    {}{}\n", start == 0 ? prefix : std::string_view{},
                       text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

/// Linkerd's lines; `wide` also shows what an ok check found.
std::string table(std::span<const CheckResult> results, bool wide) {
  std::string out;
  const std::string* category = nullptr;
  for (const CheckResult& r : results) {
    if (category == nullptr || *category != r.category) {
      out += fmt::format("{}{}\n{}\n", category == nullptr ? "" : "\n", r.category,
                         std::string(r.category.size(), '-'));
      category = &r.category;
    }
    out += fmt::format("{} {}\n", mark(r.status), r.check);
    if (r.status != CheckStatus::Ok) {
      out += indented(r.detail);
      out += indented(r.hint, "hint: ");
    } else if (wide) {
      out += indented(r.detail);
    }
  }
  return out + fmt::format("{}Status check results are {}\n", results.empty() ? "" : "\n",
                           any_failed(results) ? kError : kOk);
}

std::string json(std::span<const CheckResult> results) {
  nlohmann::json out = nlohmann::json::array();
  for (const CheckResult& r : results) {
    out.push_back({{"category", r.category},
                   {"check", r.check},
                   {"status", status_name(r.status)},
                   {"detail", r.detail},
                   {"hint", r.hint}});
  }
  // Details quote files and agents: bytes that are not UTF-8 print as U+FFFD, never throw.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

const char* status_name(CheckStatus status) {
  return status == CheckStatus::Ok ? "ok" : status == CheckStatus::Warning ? "warning" : "error";
}

bool any_failed(std::span<const CheckResult> results) {
  return std::ranges::any_of(results,
                             [](const CheckResult& r) { return r.status == CheckStatus::Error; });
}

std::string check_output(std::span<const CheckResult> results, OutputFormat format) {
  return format == OutputFormat::Json ? json(results)
                                      : table(results, format == OutputFormat::Wide);
}

}  // namespace weft::weftctl
