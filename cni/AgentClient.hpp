// weft-cni's side of the registration socket (protocol in common/PodRegistration.hpp):
// connect, write one JSON line, read one JSON line back, all under one deadline.
#pragma once

#include <chrono>
#include <expected>
#include <string>

#include "cni/CniError.hpp"
#include "common/Error.hpp"
#include "common/PodRegistration.hpp"

namespace weft::cni {

/// Talks to weft-agent over its unix socket. Every call is bounded by `timeout`, from the start
/// of connect() to the end of the reply, so a wedged agent cannot stall the container runtime.
class AgentClient {
 public:
  AgentClient(std::string socket_path, std::chrono::milliseconds timeout);

  /// Sends `reg` and returns the agent's reply. Errors: System (socket missing, refused, reset,
  /// closed without answering), Timeout (deadline passed), Protocol (reply not decodable).
  /// Every message names the socket path.
  Result<RegistrationReply> exchange(const PodRegistration& reg) const;

  /// exchange() in CNI terms: any transport failure is TryAgainLater (11) naming the socket,
  /// an answer with ok:false is AgentRefused (999) with the agent's reason in details.
  std::expected<void, CniError> submit(const PodRegistration& reg) const;

  /// The socket this client talks to.
  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace weft::cni
