// Tap over mutual TLS, for clients off the node: a listener of its own (tap_tls_address) whose
// TLS 1.3 handshake requires a client certificate chaining to the mesh's trust anchors, and
// serves GET /tap and GET /observe to the SPIFFE IDs of an allow-list, each limited to the
// namespaces it names.
// The agent presents its own SPIFFE ID's certificate, issued and renewed like a workload's.
// A thread per connection (at most tap_max_sessions + 2 at once), blocking I/O with 10 s
// limits on the handshake and the request head.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/identity/Credential.hpp"
#include "agent/tap/TapAllowList.hpp"
#include "common/Error.hpp"
#include "common/Fd.hpp"

namespace weft::agent {

class FlowLog;
class TapHub;

class TapTlsListener {
 public:
  /// The agent's own credential as of now (renewals replace it); nullptr while it has none.
  using CurrentCredential = std::function<std::shared_ptr<const identity::Credential>()>;

  /// Listens on `address` ("0.0.0.0:15021"); peers must chain to `trust` (the store is
  /// referenced, not copied: it must outlive the listener).
  static Result<std::unique_ptr<TapTlsListener>> start(const std::string& address,
                                                       TapAllowList allow, TapHub& hub,
                                                       const FlowLog& flows, X509_STORE* trust,
                                                       CurrentCredential credential);
  /// Stops accepting, ends the sessions (within about half a second) and joins their threads.
  ~TapTlsListener();
  TapTlsListener(const TapTlsListener&) = delete;
  TapTlsListener& operator=(const TapTlsListener&) = delete;

  /// The port it listens on (the one asked for, or the kernel's choice for port 0).
  uint16_t port() const { return port_; }

 private:
  struct Connection {
    Fd socket;
    std::string peer;
    std::thread thread;
    std::atomic<bool> done = false;
  };

  TapTlsListener(TapAllowList allow, TapHub& hub, const FlowLog& flows,
                 CurrentCredential credential)
      : allow_(std::move(allow)), hub_(hub), flows_(flows), credential_(std::move(credential)) {}
  void accept_loop();
  void serve(Connection& connection);
  /// Joins the threads of connections that ended.
  void reap();

  TapAllowList allow_;
  TapHub& hub_;
  const FlowLog& flows_;
  CurrentCredential credential_;
  identity::SslCtxPtr ctx_;
  Fd listener_;
  Fd wake_;  ///< eventfd: written to stop accept_loop
  uint16_t port_ = 0;
  std::atomic<bool> stopping_ = false;
  std::mutex mutex_;  ///< connections_
  std::list<Connection> connections_;
  std::thread acceptor_;
};

}  // namespace weft::agent
