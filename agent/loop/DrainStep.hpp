// The steps of an agent's drain after SIGTERM (ARCHITECTURE.md, "Hand-over"), as each of a
// worker's connections is told them.
#pragma once

namespace weft::proxy {

enum class DrainStep {
  /// The listeners are closed: take no new work. HTTP/2 and tunnel sessions send the shutdown
  /// notice (a GOAWAY that still takes the streams in flight), HTTP/1.1 answers carry
  /// `Connection: close` from now on.
  Notice,
  /// A second later: the GOAWAY that names the last stream taken.
  Goaway,
  /// The drain period is over: byte streams end with FIN (END_STREAM in a tunnel) and input
  /// that arrives after is dropped; requests still in flight are cut.
  End,
};

}  // namespace weft::proxy
