#include "agent/kube/ApiServerConfig.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/weft-kubeconfig-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string kubeconfig(const std::string& cluster, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
         "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
         "clusters:\n- name: other\n  cluster: {server: 'https://wrong:1'}\n"
         "- name: k\n  cluster:\n" +
         cluster + "users:\n- name: u\n  user:\n" + user;
}

}  // namespace

TEST_CASE("kubeconfig: the current context's server, CA data, token and relative files") {
  TempDir dir;
  // "-----BEGIN CERTIFICATE-----\n" in base64.
  auto path = dir.write(
      "config",
      kubeconfig("    server: https://10.0.0.1:6443/\n"
                 "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n",
                 "    tokenFile: secrets/token\n"
                 "    client-certificate: /abs/client.crt\n"
                 "    client-key: client.key\n"));
  auto config = weft::kube::kubeconfig_config(path);
  REQUIRE_MESSAGE(config, config.error().message);
  CHECK(config->server == "https://10.0.0.1:6443");
  CHECK(config->ca.pem == "-----BEGIN CERTIFICATE-----\n");
  CHECK(config->token_file == (dir.path / "secrets/token").string());
  CHECK(config->client_cert.file == "/abs/client.crt");
  CHECK(config->client_key.file == (dir.path / "client.key").string());
  CHECK(config->origin == path);
}

TEST_CASE("kubeconfig: what weft refuses, with the reason") {
  TempDir dir;
  const std::string ca = "    certificate-authority: ca.crt\n";
  struct Case {
    std::string cluster, user, message;
  } cases[] = {
      {"    server: https://a:1\n    insecure-skip-tls-verify: true\n" + ca, "    token: t\n",
       "insecure-skip-tls-verify is refused"},
      {"    server: http://a:1\n" + ca, "    token: t\n", "must be an https:// URL"},
      {"    server: https://a:1\n", "    token: t\n", "certificate-authority(-data) is required"},
      {"    server: https://a:1\n    tls-server-name: x\n" + ca, "    token: t\n",
       "tls-server-name is not supported"},
      {"    server: https://a:1\n" + ca, "    exec: {command: aws}\n",
       "exec and auth-provider credentials are not supported"},
      {"    server: https://a:1\n" + ca, "    client-certificate: c.crt\n",
       "client-certificate and client-key go together"},
      {"    server: https://a:1\n    certificate-authority-data: '!!'\n", "    token: t\n",
       "certificate-authority-data: invalid base64"},
  };
  for (const auto& c : cases) {
    auto config = weft::kube::kubeconfig_config(dir.write("config", kubeconfig(c.cluster, c.user)));
    REQUIRE_FALSE(config);
    CHECK_MESSAGE(config.error().message.find(c.message) != std::string::npos,
                  config.error().message);
  }
  auto broken = weft::kube::kubeconfig_config(dir.write("config", "current-context: [\n"));
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message.find("invalid kubeconfig") != std::string::npos);
  auto no_context =
      weft::kube::kubeconfig_config(dir.write("config", "current-context: nope\ncontexts: []\n"));
  REQUIRE_FALSE(no_context);
  CHECK(no_context.error().message.find("context \"nope\" not found") != std::string::npos);
}

TEST_CASE("in-cluster: the service's environment and the service-account files") {
  TempDir dir;
  dir.write("token", "t");
  dir.write("ca.crt", "c");
  auto config = weft::kube::in_cluster_config(
      {{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
      dir.path.string());
  REQUIRE(config);
  CHECK(config->server == "https://[fd00::1]:443");
  CHECK(config->token_file == (dir.path / "token").string());
  CHECK(config->ca.file == (dir.path / "ca.crt").string());

  auto outside = weft::kube::in_cluster_config({}, dir.path.string());
  REQUIRE_FALSE(outside);
  CHECK(outside.error().message.find("pass --kubeconfig") != std::string::npos);
  std::filesystem::remove(dir.path / "token");
  auto unmounted = weft::kube::in_cluster_config(
      {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
      dir.path.string());
  REQUIRE_FALSE(unmounted);
  CHECK(unmounted.error().message.find("token is missing") != std::string::npos);
}
