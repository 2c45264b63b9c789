#include "agent/kube/ApiServerConfig.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "common/AtomicFile.hpp"

namespace weft::kube {
namespace {

std::unexpected<Error> config_error(const std::string& origin, std::string_view what) {
  return fail(Error::Kind::Config, fmt::format("{}: {}", origin, what));
}

/// Standard base64 (with padding, whitespace ignored) as kubeconfig `*-data` fields hold.
Result<std::string> base64_decode(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
      clean.push_back(c);
    }
  }
  if (clean.size() % 4 != 0) {
    return fail(Error::Kind::Config, "invalid base64");
  }
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) {
    return fail(Error::Kind::Config, "invalid base64");
  }
  std::size_t padding = clean.ends_with("==") ? 2 : clean.ends_with("=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

/// The entry named `name` of a kubeconfig list (`clusters`, `users`, `contexts`), or a null node.
YAML::Node named(const YAML::Node& list, const std::string& name, const char* field) {
  if (list && list.IsSequence()) {
    for (const auto& entry : list) {
      if (entry["name"] && entry["name"].as<std::string>() == name && entry[field]) {
        return entry[field];
      }
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string text(const YAML::Node& map, const char* key) {
  return map && map[key] ? map[key].as<std::string>() : std::string();
}

/// A PEM from `<key>-data` (base64) or `<key>` (a path, relative to `dir`).
Result<PemSource> pem_field(const YAML::Node& map, const std::string& key,
                            const std::filesystem::path& dir, const std::string& origin) {
  PemSource out;
  if (std::string data = text(map, (key + "-data").c_str()); !data.empty()) {
    auto pem = base64_decode(data);
    if (!pem) {
      return config_error(origin, fmt::format("{}-data: {}", key, pem.error().message));
    }
    out.pem = std::move(*pem);
  } else if (std::string file = text(map, key.c_str()); !file.empty()) {
    std::filesystem::path p(file);
    out.file = p.is_absolute() ? p.string() : (dir / p).string();
  }
  return out;
}

Result<ApiServerConfig> read_kubeconfig(const YAML::Node& root, const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::string context_name = text(root, "current-context");
  if (context_name.empty()) {
    return config_error(path, "no current-context");
  }
  YAML::Node context = named(root["contexts"], context_name, "context");
  if (!context) {
    return config_error(path, fmt::format("context \"{}\" not found", context_name));
  }
  std::string cluster_name = text(context, "cluster");
  std::string user_name = text(context, "user");
  YAML::Node cluster = named(root["clusters"], cluster_name, "cluster");
  if (!cluster) {
    return config_error(path, fmt::format("cluster \"{}\" not found", cluster_name));
  }
  ApiServerConfig out;
  out.origin = path;
  out.server = text(cluster, "server");
  while (out.server.ends_with('/')) {
    out.server.pop_back();
  }
  if (!out.server.starts_with("https://")) {
    return config_error(path, fmt::format("cluster \"{}\": server must be an https:// URL, got "
                                          "\"{}\"",
                                          cluster_name, out.server));
  }
  if (cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>()) {
    return config_error(path,
                        "insecure-skip-tls-verify is refused: weft always verifies the API "
                        "server's certificate");
  }
  auto ca = pem_field(cluster, "certificate-authority", dir, path);
  if (!ca) {
    return std::unexpected(ca.error());
  }
  if (ca->empty()) {
    return config_error(path, fmt::format("cluster \"{}\": certificate-authority(-data) is "
                                          "required",
                                          cluster_name));
  }
  out.ca = std::move(*ca);
  for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
    if (cluster[unsupported]) {
      return config_error(
          path, fmt::format("cluster \"{}\": {} is not supported", cluster_name, unsupported));
    }
  }
  if (!user_name.empty()) {
    YAML::Node user = named(root["users"], user_name, "user");
    if (!user) {
      return config_error(path, fmt::format("user \"{}\" not found", user_name));
    }
    if (user["exec"] || user["auth-provider"]) {
      return config_error(path, fmt::format("user \"{}\": exec and auth-provider credentials are "
                                            "not supported; use a token, tokenFile or a client "
                                            "certificate",
                                            user_name));
    }
    out.token = text(user, "token");
    std::string token_file = text(user, "tokenFile");
    if (!token_file.empty()) {
      std::filesystem::path p(token_file);
      out.token_file = p.is_absolute() ? p.string() : (dir / p).string();
    }
    auto cert = pem_field(user, "client-certificate", dir, path);
    auto key = pem_field(user, "client-key", dir, path);
    if (!cert || !key) {
      return std::unexpected(!cert ? cert.error() : key.error());
    }
    if (cert->empty() != key->empty()) {
      return config_error(path, fmt::format("user \"{}\": client-certificate and client-key go "
                                            "together",
                                            user_name));
    }
    out.client_cert = std::move(*cert);
    out.client_key = std::move(*key);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> service_environment() {
  std::map<std::string, std::string> env;
  for (const char* name : {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}) {
    if (const char* value = std::getenv(name)) {
      env[name] = value;
    }
  }
  return env;
}

Result<ApiServerConfig> in_cluster_config(const std::map<std::string, std::string>& env,
                                          const std::string& account_dir) {
  auto host = env.find("KUBERNETES_SERVICE_HOST");
  auto port = env.find("KUBERNETES_SERVICE_PORT");
  if (host == env.end() || port == env.end() || host->second.empty() || port->second.empty()) {
    return fail(Error::Kind::Config,
                "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not "
                "set (not running in a pod?); pass --kubeconfig FILE");
  }
  ApiServerConfig out;
  out.origin = "in-cluster";
  // An IPv6 host goes in brackets, as net.JoinHostPort does.
  bool v6 = host->second.find(':') != std::string::npos;
  out.server =
      fmt::format("https://{}{}{}:{}", v6 ? "[" : "", host->second, v6 ? "]" : "", port->second);
  out.token_file = account_dir + "/token";
  out.ca.file = account_dir + "/ca.crt";
  for (const std::string& file : {out.token_file, out.ca.file}) {
    if (!std::filesystem::exists(file)) {
      return fail(Error::Kind::Config,
                  fmt::format("in-cluster config: {} is missing (is the service-account token "
                              "mounted?)",
                              file));
    }
  }
  return out;
}

Result<ApiServerConfig> kubeconfig_config(const std::string& path) {
  auto bytes = read_file(path, 1U << 20);
  if (!bytes) {
    return std::unexpected(bytes.error());
  }
  try {
    return read_kubeconfig(YAML::Load(*bytes), path);
  } catch (const YAML::Exception& e) {
    return config_error(path, fmt::format("invalid kubeconfig: {}", e.what()));
  }
}

}  // namespace weft::kube
