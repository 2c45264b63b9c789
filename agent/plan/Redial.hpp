// An app's connection to a Service whose endpoint did not take it before anything moved through
// it, and who sends it to another endpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "agent/metrics/TcpMetrics.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

class SourceShare;

/// What sending an outbound connection to another endpoint of its Service takes.
struct Redial {
  /// Endpoints one connection tries before the app is reset.
  static constexpr std::size_t kMaxAttempts = 3;

  std::shared_ptr<const agent::MeshedPod> pod;  ///< the app's
  SockAddr service;                             ///< the address the app dialled
  std::vector<SockAddr> tried;                  ///< endpoints that did not take it, in order
  /// The last of `tried` did not fail the connection: its tunnel's dial ran out of time while
  /// its peer agent may be coming back (TunnelSession::dial_ran_out), so the Redialer takes it
  /// off `tried`, and it may be chosen again. Granted once per connection.
  bool dial_last_again = false;
  bool dialled_again = false;  ///< dial_last_again was granted
};

/// Who sends a connection on (the Dispatcher).
class Redialer {
 public:
  /// The connection to `attempt.tried.back()` failed before the app saw anything of it (a
  /// refused or timed-out connect, a peer agent's 502 or 504, a tunnel stream closed unanswered
  /// or never sent): `app` is the app's socket, with no operation in flight, and `received` all
  /// that was read from it. Sends it to another endpoint, or resets it after kMaxAttempts or
  /// when none is left. Called from inside a connection's completion: the new attempt starts
  /// once the worker's batch is done.
  /// `failed`: the labels of the attempt that failed (its endpoint's identity), for the count.
  virtual void redial(Redial attempt, const agent::FlowLabels& failed, Fd app, SourceShare share,
                      std::vector<uint8_t> received) = 0;

 protected:
  ~Redialer() = default;
};

}  // namespace weft::proxy
