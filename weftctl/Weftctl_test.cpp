#include "weftctl/Weftctl.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <vector>

namespace {

/// A run of weftctl in-process, with what it wrote on stdout and stderr.
struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

std::string contents(std::FILE* f) {
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    text.push_back(static_cast<char>(c));
  }
  std::fclose(f);
  return text;
}

Run run(std::vector<std::string> args) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  Run r;
  r.status = weft::weftctl::run(args, out, err);
  r.out = contents(out);
  r.err = contents(err);
  return r;
}

}  // namespace

TEST_CASE("weftctl: bad usage exits 2 with the reason and the help to read on stderr") {
  auto r = run({"ca", "create", "--dir", "/nonexistent/ca", "--bogus"});
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "weftctl: ca create: unknown option --bogus (see weftctl ca create --help)\n");
  auto missing = run({"ca", "create", "--anchor-days"});
  CHECK(missing.status == 2);
  CHECK(missing.err.find("--anchor-days: 1 required N missing") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists("/nonexistent/ca"));
}

TEST_CASE("weftctl: --help and --version exit 0 with the text on stdout") {
  auto help = run({"ca", "create", "--help"});
  CHECK(help.status == 0);
  CHECK(help.err.empty());
  CHECK(help.out.find("--keep-root-key") != std::string::npos);
  auto version = run({"--version"});
  CHECK(version.status == 0);
  CHECK(version.out == "weftctl " WEFT_VERSION "\n");
}

TEST_CASE("weftctl: ca create writes the CA, and refuses to replace it without --force") {
  char tmpl[] = "/tmp/weftctl-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::filesystem::path dir = std::filesystem::path(tmpl) / "ca";
  auto first = run({"ca", "create", "--dir", dir.string(), "--trust-domain", "example.org"});
  CHECK_MESSAGE(first.status == 0, first.err);
  CHECK(first.out.find("for trust domain example.org") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "issuer.key"));
  auto again = run({"ca", "create", "--dir", dir.string()});
  CHECK(again.status == 1);
  CHECK(again.err.find("--force") != std::string::npos);
  std::filesystem::remove_all(tmpl);
}
