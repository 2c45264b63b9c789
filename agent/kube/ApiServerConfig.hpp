// Where the Kubernetes API server is and how to authenticate to it: from a pod's service account
// (in-cluster) or from a kubeconfig file, as client-go's rest.InClusterConfig and
// clientcmd do for the fields weft supports.
#pragma once

#include <map>
#include <string>

#include "common/Error.hpp"

namespace weft::kube {

/// A PEM value given inline or as a file (read when a connection is made, so a rotated file is
/// picked up).
struct PemSource {
  std::string pem;   ///< inline PEM (kubeconfig `*-data`, base64-decoded)
  std::string file;  ///< else a path
  bool empty() const { return pem.empty() && file.empty(); }
};

struct ApiServerConfig {
  std::string server;  ///< "https://host:port", no trailing slash
  PemSource ca;        ///< the CA bundle that verifies the server (required)
  /// Bearer token: inline, or a file re-read when it changes (a projected service-account token
  /// is rotated by the kubelet). Never logged.
  std::string token;
  std::string token_file;
  PemSource client_cert;  ///< a client certificate and its key, instead of or beside a token
  PemSource client_key;
  std::string origin;  ///< "in-cluster" or the kubeconfig path, for messages
};

/// The directory the kubelet mounts a pod's service-account token, CA and namespace into.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/// In-cluster settings: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from `env`, the token
/// and CA of `account_dir`. Fails when the variables are unset or the files are missing, naming
/// what is missing and suggesting --kubeconfig.
Result<ApiServerConfig> in_cluster_config(const std::map<std::string, std::string>& env,
                                          const std::string& account_dir = kServiceAccountDir);

/// The settings of `path`'s current context. Supports `server`, `certificate-authority(-data)`,
/// `token`, `tokenFile`, `client-certificate(-data)`, `client-key(-data)`; relative paths are
/// relative to the file's directory. Refuses `insecure-skip-tls-verify`, `tls-server-name`,
/// `proxy-url`, `exec` and `auth-provider` with a message saying so.
Result<ApiServerConfig> kubeconfig_config(const std::string& path);

/// The process environment's two variables in-cluster config reads.
std::map<std::string, std::string> service_environment();

}  // namespace weft::kube
