#include "weftctl/CheckResults.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <vector>

using namespace weft::weftctl;

namespace {

std::vector<CheckResult> sample() {
  return {
      {.category = "weft-node", .check = "kernel is Linux 6.1 or newer", .detail = "Linux 6.8"},
      {.category = "weft-node",
       .check = "bpffs is mounted",
       .status = CheckStatus::Warning,
       .detail = "no bpf file system in /proc/mounts",
       .hint = "mount one"},
      {.category = "weft-agents",
       .check = "the agents are ready",
       .status = CheckStatus::Error,
       .detail = "a:1: status 503\nb:1: status 503",
       .hint = "read its log"},
  };
}

}  // namespace

TEST_CASE("check results: Linkerd's layout, details only under warnings and errors") {
  auto results = sample();
  CHECK(check_output(results, OutputFormat::Table) ==
        "weft-node\n"
        "---------\n"
        "\u221a kernel is Linux 6.1 or newer\n"
        "\u203c bpffs is mounted\n"
        "    no bpf file system in /proc/mounts\n"
        "    hint: mount one\n"
        "\n"
        "weft-agents\n"
        "-----------\n"
        "\u00d7 the agents are ready\n"
        "    a:1: status 503\n"
        "    b:1: status 503\n"
        "    hint: read its log\n"
        "\n"
        "Status check results are \u00d7\n");
  CHECK(any_failed(results));
  // wide: what an ok check found, too.
  CHECK(check_output(results, OutputFormat::Wide)
            .starts_with("weft-node\n"
                         "---------\n"
                         "\u221a kernel is Linux 6.1 or newer\n"
                         "    Linux 6.8\n"
                         "\u203c bpffs is mounted\n"));
}

TEST_CASE("check results: warnings alone still pass") {
  auto results = sample();
  results.pop_back();
  CHECK_FALSE(any_failed(results));
  CHECK(
      check_output(results, OutputFormat::Table).ends_with("\nStatus check results are \u221a\n"));
}

TEST_CASE("check results: JSON lists every check with its status, detail and hint") {
  auto results = sample();
  results[0].detail += "\xff";  // a file's bytes that are not UTF-8 must not throw
  auto doc = nlohmann::json::parse(check_output(results, OutputFormat::Json));
  REQUIRE(doc.size() == 3);
  CHECK(doc[0]["category"] == "weft-node");
  CHECK(doc[0]["status"] == "ok");
  CHECK(doc[0]["detail"] == "Linux 6.8\xef\xbf\xbd");
  CHECK(doc[1]["status"] == "warning");
  CHECK(doc[2]["status"] == "error");
  CHECK(doc[2]["check"] == "the agents are ready");
  CHECK(doc[2]["hint"] == "read its log");
}
