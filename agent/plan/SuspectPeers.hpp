// Peer agents that lately did not answer a tunnel's connect, handshake or PING (per worker), and
// how endpoint choice treats them: avoided while another endpoint can take the work, dialled with
// a short limit when none can.
#pragma once

#include <chrono>
#include "agent/plan/RecentMarks.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

class SuspectPeers {
 public:
  using Clock = std::chrono::steady_clock;
  /// How long a peer stays suspect after it was last avoided: a new session to it gets the short
  /// limit until then (and the full one after, as for any peer).
  static constexpr auto kForgetAfter = std::chrono::seconds(60);

  /// `avoid_for`: how long after it failed new connections and requests go elsewhere when they
  /// can (the PING timeout: a partition costs a request that has another endpoint nothing, and
  /// a healed peer is used again that soon).
  explicit SuspectPeers(Clock::duration avoid_for) : avoid_for_(avoid_for) {}

  /// `peer` failed, or a session with the short limit is being tried to it: avoided from `now`
  /// (so that while that session is pending, only work with nowhere else to go waits for it).
  void avoid(const IpAddr& peer, Clock::time_point now) { avoided_.mark(peer, now); }
  /// A session to `peer` completed its handshake.
  void answered(const IpAddr& peer) { avoided_.erase(peer); }

  /// Whether work for `peer` should go to another endpoint when there is one.
  bool avoided(const IpAddr& peer, Clock::time_point now) const {
    return avoided_.within(peer, now, avoid_for_);
  }
  /// Whether a new session to `peer` gets the short limit (see TunnelSession::suspect_peer).
  bool suspect(const IpAddr& peer) const { return avoided_.contains(peer); }
  bool empty() const { return avoided_.empty(); }

  /// Drops peers avoided last more than kForgetAfter ago (the worker's tick).
  void forget(Clock::time_point now) { avoided_.forget_older_than(now, kForgetAfter); }

 private:
  Clock::duration avoid_for_;
  RecentMarks<IpAddr> avoided_;  ///< when each peer was last avoided
};

}  // namespace weft::proxy
