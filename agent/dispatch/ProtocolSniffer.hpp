// Reads the first bytes of a connection (an app's outbound one, or an unmeshed client's inbound
// one) to tell HTTP/2, HTTP/1 and opaque TCP apart, waiting at most a configured time for a
// client that does not speak first (or that began an HTTP request and went slow).
#pragma once

#include <linux/time_types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "agent/loop/Loop.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"
#include "l7/ProtocolDetector.hpp"

namespace weft::proxy {

class Dispatcher;

/// Owned by its Dispatcher; hands the socket, the bytes read and the verdict to
/// Dispatcher::detected(), which retires it. Undecided means the connection failed.
class ProtocolSniffer final : public Retirable {
 public:
  using Clock = std::chrono::steady_clock;

  ProtocolSniffer(Dispatcher& dispatcher, std::shared_ptr<const agent::MeshedPod> pod,
                  Fd downstream, SockAddr original_destination, unsigned timeout_ms);
  ProtocolSniffer(const ProtocolSniffer&) = delete;
  ProtocolSniffer& operator=(const ProtocolSniffer&) = delete;

  void start();
  /// Through Dispatcher::sniffer_finished.
  void erase_now() override;

  std::shared_ptr<const agent::MeshedPod> pod;
  Fd downstream;
  SourceShare share;  ///< what the connection counts against its source
  /// What the client dialled: outbound, the app's original destination; inbound, `pod` itself.
  SockAddr original_destination;
  /// Inbound (an unmeshed client of `pod`'s app): the client's address; empty outbound.
  std::optional<SockAddr> inbound_peer;
  std::vector<uint8_t> received;  ///< what the client sent, once decided

 private:
  struct RecvOp final : Operation {
    ProtocolSniffer* sniffer = nullptr;
    void complete(int res, unsigned flags) override;
  };

  void arm_recv();
  void on_recv(int res);
  void decide(l7::Protocol protocol);
  /// The detection window is over: a silent client is carried as TCP, one whose bytes so far
  /// fit an HTTP request as HTTP.
  void time_up();

  Dispatcher& dispatcher_;
  Clock::time_point deadline_;
  __kernel_timespec timeout_{};
  RecvOp recv_op_;
  std::vector<uint8_t> buffer_;
  std::size_t used_ = 0;
};

}  // namespace weft::proxy
