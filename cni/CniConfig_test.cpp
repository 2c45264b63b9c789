#include "cni/CniConfig.hpp"

#include <doctest/doctest.h>

#include <string>

#include "cni/BoundedJson.hpp"
#include "cni/CniError.hpp"
#include "cni/CniVersion.hpp"

using namespace weft::cni;

namespace {

const std::string kPrev =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/p1"}],)"
    R"("ips":[{"interface":0,"address":"10.244.1.5/24","gateway":"10.244.1.1"},)"
    R"({"address":"fd00::5/64"}],"dns":{}})";

std::string config_with(const std::string& extra, const std::string& version = "1.0.0") {
  return R"({"cniVersion":")" + version + R"(","name":"kind","type":"weft-cni")" + extra + "}";
}

}  // namespace

TEST_CASE("config: defaults apply and prevResult keeps its key order and values") {
  auto config = parse_network_config(config_with(",\"prevResult\":" + kPrev), Command::Add);
  REQUIRE(config);
  CHECK(config->cni_version == "1.0.0");
  CHECK(config->name == "kind");
  CHECK(config->agent_socket == "/run/weft/cni.sock");
  CHECK(config->timeout == std::chrono::milliseconds(5000));
  CHECK(config->log_level == weft::log::Level::Info);
  CHECK(config->exclude_namespaces == std::vector<std::string>{"kube-system", "weft-system"});
  CHECK(config->ips == std::vector<std::string>{"10.244.1.5/24", "fd00::5/64"});
  REQUIRE(config->prev_result);
  CHECK(config->prev_result->dump() == kPrev);
}

TEST_CASE("config: weft fields are read") {
  auto config = parse_network_config(
      config_with(R"(,"agentSocket":"/tmp/a.sock","timeoutMs":250,"logLevel":"debug",)"
                  R"("excludeNamespaces":["infra"],"prevResult":)" +
                      kPrev,
                  "0.4.0"),
      Command::Check);
  REQUIRE(config);
  CHECK(config->agent_socket == "/tmp/a.sock");
  CHECK(config->timeout == std::chrono::milliseconds(250));
  CHECK(config->log_level == weft::log::Level::Debug);
  CHECK(config->exclude_namespaces == std::vector<std::string>{"infra"});
}

TEST_CASE("config: every supported version is accepted for ADD") {
  for (auto version : kSupportedVersions) {
    CAPTURE(version);
    CHECK(parse_network_config(config_with(",\"prevResult\":" + kPrev, std::string(version)),
                               Command::Add));
  }
}

TEST_CASE("config: DEL needs no prevResult") {
  auto config = parse_network_config(config_with(""), Command::Del);
  REQUIRE(config);
  CHECK_FALSE(config->prev_result);
  CHECK(config->ips.empty());
}

TEST_CASE("config: each malformed config maps to its CNI error code") {
  struct Case {
    std::string text;
    Command command;
    ErrorCode code;
    const char* detail;
  };
  const std::string prev = ",\"prevResult\":" + kPrev;
  const Case cases[] = {
      // 6: not decodable, or a field of the wrong type.
      {"", Command::Add, ErrorCode::DecodingFailure, "parse error"},
      {"not json", Command::Add, ErrorCode::DecodingFailure, "parse error"},
      {R"({"cniVersion":"1.0.0",)", Command::Add, ErrorCode::DecodingFailure, "parse error"},
      {config_with(prev) + "x", Command::Add, ErrorCode::DecodingFailure, "parse error"},
      {"[1,2]", Command::Add, ErrorCode::DecodingFailure, "must be a JSON object"},
      {"\"str\"", Command::Add, ErrorCode::DecodingFailure, "must be a JSON object"},
      {std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']'), Command::Add,
       ErrorCode::DecodingFailure, "nests deeper"},
      {std::string(kMaxJsonBytes + 1, ' '), Command::Add, ErrorCode::DecodingFailure,
       "more than the limit"},
      {R"({"cniVersion":1,"name":"n","type":"t"})", Command::Add, ErrorCode::DecodingFailure,
       "\"cniVersion\" must be a string"},
      {R"({"cniVersion":"1.0.0","name":["n"],"type":"t"})", Command::Add,
       ErrorCode::DecodingFailure, "\"name\" must be a string"},
      {config_with(R"(,"timeoutMs":"5000")" + prev), Command::Add, ErrorCode::DecodingFailure,
       "\"timeoutMs\" must be an integer"},
      {config_with(R"(,"timeoutMs":1.5)" + prev), Command::Add, ErrorCode::DecodingFailure,
       "\"timeoutMs\" must be an integer"},
      {config_with(R"(,"agentSocket":7)" + prev), Command::Add, ErrorCode::DecodingFailure,
       "\"agentSocket\" must be a string"},
      {config_with(R"(,"logLevel":true)" + prev), Command::Add, ErrorCode::DecodingFailure,
       "\"logLevel\" must be a string"},
      {config_with(R"(,"excludeNamespaces":"kube-system")" + prev), Command::Add,
       ErrorCode::DecodingFailure, "\"excludeNamespaces\" must be an array of strings"},
      {config_with(R"(,"excludeNamespaces":["a",1])" + prev), Command::Add,
       ErrorCode::DecodingFailure, "\"excludeNamespaces\" must be an array of strings"},
      {config_with(R"(,"excludeNamespaces":[""])" + prev), Command::Add,
       ErrorCode::InvalidNetworkConfig, "not a namespace name"},
      {config_with(R"(,"prevResult":[])"), Command::Add, ErrorCode::DecodingFailure,
       "\"prevResult\" must be an object"},
      {config_with(R"(,"prevResult":{"ips":{}})"), Command::Add, ErrorCode::DecodingFailure,
       "\"prevResult.ips\" must be an array"},
      {config_with(R"(,"prevResult":{"ips":[{"address":5}]})"), Command::Add,
       ErrorCode::DecodingFailure, "string \"address\""},
      {config_with(R"(,"prevResult":{"ips":["10.0.0.1/24"]})"), Command::Add,
       ErrorCode::DecodingFailure, "string \"address\""},
      // 1: a version we do not speak.
      {config_with(prev, "0.2.0"), Command::Add, ErrorCode::IncompatibleVersion, "\"0.2.0\""},
      {config_with(prev, "1.1.0"), Command::Add, ErrorCode::IncompatibleVersion, "supports"},
      {config_with(prev, "0.3.1"), Command::Check, ErrorCode::IncompatibleVersion,
       "CHECK needs cniVersion 0.4.0"},
      // 7: decodes, but a value is unacceptable.
      {R"({"name":"n","type":"t"})", Command::Add, ErrorCode::InvalidNetworkConfig,
       "\"cniVersion\" is required"},
      {R"({"cniVersion":"1.0.0","type":"t"})", Command::Add, ErrorCode::InvalidNetworkConfig,
       "\"name\" is required"},
      {R"({"cniVersion":"1.0.0","name":"n","type":""})", Command::Add,
       ErrorCode::InvalidNetworkConfig, "\"type\" is required"},
      {config_with(""), Command::Add, ErrorCode::InvalidNetworkConfig,
       "must be chained after a plugin that assigns IPs"},
      {config_with(",\"prevResult\":null"), Command::Check, ErrorCode::InvalidNetworkConfig,
       "must be chained after a plugin that assigns IPs"},
      {config_with(R"(,"prevResult":{"cniVersion":"1.0.0"})"), Command::Add,
       ErrorCode::InvalidNetworkConfig, "prevResult has no ips"},
      {config_with(R"(,"prevResult":{"ips":[{"address":"10.0.0.300/24"}]})"), Command::Add,
       ErrorCode::InvalidNetworkConfig, "not an address in CIDR notation"},
      {config_with(R"(,"timeoutMs":0)" + prev), Command::Add, ErrorCode::InvalidNetworkConfig,
       "between 1 and 600000"},
      {config_with(R"(,"timeoutMs":-5)" + prev), Command::Add, ErrorCode::InvalidNetworkConfig,
       "between 1 and 600000"},
      {config_with(R"(,"timeoutMs":600001)" + prev), Command::Add, ErrorCode::InvalidNetworkConfig,
       "between 1 and 600000"},
      {config_with(R"(,"agentSocket":"relative.sock")" + prev), Command::Add,
       ErrorCode::InvalidNetworkConfig, "absolute path"},
      {config_with(R"(,"agentSocket":"/)" + std::string(120, 'a') + "\"" + prev), Command::Add,
       ErrorCode::InvalidNetworkConfig, "absolute path"},
      {config_with(R"(,"logLevel":"loud")" + prev), Command::Add, ErrorCode::InvalidNetworkConfig,
       "\"logLevel\" must be debug"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text.substr(0, 200));
    auto config = parse_network_config(c.text, c.command);
    REQUIRE_FALSE(config);
    CHECK(config.error().code == c.code);
    CHECK_MESSAGE(config.error().details.find(c.detail) != std::string::npos,
                  config.error().details);
  }
}

TEST_CASE("config: the CNI error object has the spec's fields") {
  auto text = encode_error("0.4.0", cni_error(ErrorCode::TryAgainLater, "m", "d"));
  CHECK(text == "{\"cniVersion\":\"0.4.0\",\"code\":11,\"msg\":\"m\",\"details\":\"d\"}\n");
  CHECK(encode_version_info() ==
        "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\","
        "\"1.0.0\"]}\n");
}

TEST_CASE("config: versions compare numerically") {
  CHECK(supports_check("0.4.0"));
  CHECK(supports_check("1.0.0"));
  CHECK(supports_check("0.10.0"));
  CHECK_FALSE(supports_check("0.3.1"));
  CHECK_FALSE(supports_check("junk"));
  CHECK_FALSE(parse_semver("1.0"));
  CHECK_FALSE(parse_semver("1.0.x"));
  CHECK_FALSE(parse_semver("1..0"));
  CHECK(sniff_cni_version(R"({"cniVersion":"0.4.0","name":5})") == "0.4.0");
  CHECK_FALSE(sniff_cni_version(R"({"cniVersion":"9.9.9"})"));
}
