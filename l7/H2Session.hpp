// An HTTP/2 connection's protocol state (nghttp2), without I/O: bytes in, frames out, and events
// to the owner of each stream. The proxy moves the bytes on its io_uring; this class never
// touches a socket, so the same code serves app connections, upstream pools and tests.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/Error.hpp"
#include "l7/Headers.hpp"  // Header, Headers: the vocabulary of every l7 user

namespace weft::l7 {

/// How much of an outgoing body the stream's owner has ready.
struct BodyChunk {
  enum class State {
    More,      ///< `size` bytes copied, more may follow
    Deferred,  ///< nothing ready yet: the owner calls H2Session::resume() when there is
    End,       ///< `size` bytes copied, then END_STREAM
    Trailers,  ///< `size` bytes copied, then the owner's trailers() end the stream
  };
  std::size_t size = 0;
  State state = State::More;
  /// Nothing was copied: the session asks H2Stream::take_body for the `size` bytes when it
  /// writes the frame, straight into the output (bulk streams skip nghttp2's buffer).
  bool no_copy = false;
};

/// Events of one stream, implemented by whoever owns it. After on_close() nothing more is
/// called and the session forgets the stream.
class H2Stream {
 public:
  /// A complete header block: the request or response head, an informational (1xx) head, or
  /// trailers (a block after the head). `end_stream`: nothing follows on this stream.
  virtual void on_headers(Headers headers, bool end_stream) = 0;
  virtual void on_data(std::span<const uint8_t> data) = 0;
  /// END_STREAM arrived on a DATA frame.
  virtual void on_end_stream() = 0;
  /// The stream is closed: `error_code` is NGHTTP2_NO_ERROR after a clean end, else the reset
  /// (received or sent) or the connection's failure.
  virtual void on_close(uint32_t error_code) = 0;
  /// Copies up to `max` bytes of the outgoing body into `out`, or (no_copy) only says how many
  /// are ready.
  virtual BodyChunk read_body(uint8_t* out, std::size_t max) = 0;
  /// Appends the next `length` body bytes to `out`, for a chunk read_body marked no_copy.
  virtual void take_body(std::size_t /*length*/, std::vector<uint8_t>& /*out*/) {}
  /// The trailers to send after a body whose last chunk said State::Trailers.
  virtual Headers trailers() = 0;

 protected:
  ~H2Stream() = default;
};

struct H2Limits {
  uint32_t max_concurrent_streams = 1000;   ///< what we accept from the peer
  uint32_t stream_window = 1u << 20;        ///< receive window per stream
  uint32_t connection_window = 16u << 20;   ///< receive window of the connection
  std::size_t max_header_list = 64 * 1024;  ///< received header block (names + values + 32 each)
  /// nghttp2 checks what it receives against HTTP's rules (pseudo-headers, field names and
  /// values, content-length against DATA). Off only where the peer is another weft agent that
  /// checked the same messages on their way into the mesh (the mTLS tunnel).
  bool check_http = true;
};

class H2Session {
 public:
  enum class Role { Client, Server };
  /// A head_at of a stream whose head was not written yet; close_all()'s default.
  static constexpr uint64_t kNotWritten = UINT64_MAX;

  /// Server role: a peer sent the head of a new request on stream `id`; return its owner,
  /// which is then given the head. nullptr: the acceptor has answered or reset the stream
  /// itself and nobody owns it (its DATA is dropped).
  class Acceptor {
   public:
    virtual H2Stream* accept_stream(int32_t id, const Headers& head, bool end_stream) = 0;

   protected:
    ~Acceptor() = default;
  };

  /// Windows are returned only through consume(): the owner says when the bytes it was given
  /// have left the agent, so a slow receiver slows the sender instead of filling memory.
  H2Session(Role role, const H2Limits& limits, Acceptor* acceptor = nullptr);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  /// Feeds received bytes. An error is a connection-level protocol error: produce() then yields
  /// the GOAWAY to send, and the connection should close once it is written.
  Result<void> receive(std::span<const uint8_t> bytes);
  /// Appends the frames ready to send to `out`, stopping once it holds `batch` bytes or more.
  Result<void> produce(std::vector<uint8_t>& out, std::size_t batch = SIZE_MAX);
  /// Whether frames are waiting (more than one produce() batch may be needed).
  bool wants_write() const;
  /// Whether the connection still has anything to do (reading or writing).
  bool alive() const;
  /// Client role: whether a new request may start (no GOAWAY either way, below the peer's
  /// concurrent-stream limit).
  bool accepts_requests() const;
  std::size_t stream_count() const { return live_streams_; }
  /// The highest stream id the peer opened and the session took (0: none yet).
  int32_t last_peer_stream() const;
  /// Where the transport will put the next bytes produce() yields (a count of the bytes it took
  /// so far, in its own units: a TLS session counts ciphertext), or any earlier position: a
  /// request head produced from now on is recorded at it, for close_all().
  void mark_output(uint64_t position) { output_mark_ = position; }
  /// Sends a PING; the peer's ACK arrives as any other bytes do.
  void ping();

  /// Client role: starts a request with `headers` and then `added` (copied); returns the stream
  /// id or a negative nghttp2 error. Each submit_* keeps the block it is given until its frame
  /// is written, and nghttp2 encodes it from there instead of from a copy of its own.
  int32_t submit_request(Headers headers, bool has_body, H2Stream* stream,
                         std::span<const Header> added = {});
  /// Server role: answers stream `id` (informational heads have `has_body` false and are
  /// followed by another head).
  int submit_response(int32_t id, Headers headers, bool has_body);
  /// Ends stream `id` with trailers (only after a body or in place of one).
  int submit_trailers(int32_t id, Headers trailers);
  /// A deferred body has more to read.
  void resume(int32_t id);
  /// `n` received DATA bytes of stream `id` have been passed on: open the windows by as much.
  void consume(int32_t id, std::size_t n);
  /// Resets stream `id`; its owner still gets on_close.
  void reset(int32_t id, uint32_t error_code);
  /// The owner of `id` goes away: no more events for it (the stream is reset if still open).
  void detach(int32_t id);
  /// Says GOAWAY (graceful when `error_code` is NO_ERROR: streams already open finish).
  void goaway(uint32_t error_code);
  /// Server role, the first of a graceful shutdown's two GOAWAYs (RFC 9113 section 6.8): the
  /// peer starts no new stream here, and streams it already sent are still taken. goaway()
  /// after a round trip names the last stream taken.
  void shutdown_notice();
  /// The transport failed: every stream gets on_close(`error_code`), except (client role) a
  /// request whose head was never written, or was written at a mark_output() position of
  /// `never_left` or beyond (the transport knows that nothing from there on left the host),
  /// which gets NGHTTP2_REFUSED_STREAM: nothing of it reached the peer, so it may go elsewhere.
  void close_all(uint32_t error_code, uint64_t never_left = kNotWritten);

 private:
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                       const uint8_t*, size_t, uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int on_stream_close(nghttp2_session*, int32_t, uint32_t, void*);
  static int on_frame_sent(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_frame_not_sent(nghttp2_session*, const nghttp2_frame*, int, void*);
  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                           nghttp2_data_source*, void*);
  static int on_send_data(nghttp2_session*, nghttp2_frame*, const uint8_t*, size_t,
                          nghttp2_data_source*, void*);
  H2Stream* stream(int32_t id);
  nghttp2_data_provider provider();
  /// `headers` and `added` as nghttp2 takes them, pointing into both, for one submit call.
  /// nghttp2 copies `added`, but only points into `headers` (whose names it trusts to be lower
  /// case, Header's rule): the caller hands them to keep_until_sent().
  std::span<const nghttp2_nv> to_nv(const Headers& headers, std::span<const Header> added = {});
  std::span<const nghttp2_nv> to_nv(Headers&&, std::span<const Header> = {}) = delete;
  /// After a submit call for stream `id` that took the nv of to_nv(`headers`) and succeeded:
  /// keeps `headers` until nghttp2 has written or dropped the frame.
  void keep_until_sent(int32_t id, Headers&& headers);
  /// A HEADERS frame of stream `id` was written or dropped: frees the first block kept for it.
  void forget_unsent(int32_t id);

  /// The header block being received. HTTP/2 sends one block at a time per connection
  /// (CONTINUATION frames follow their HEADERS with nothing in between), so one is enough.
  struct Incoming {
    int32_t id = 0;  ///< 0: none
    Headers headers;
    std::size_t size = 0;
    bool too_large = false;
  };

  Role role_;
  H2Limits limits_;
  Acceptor* acceptor_;
  nghttp2_session* h2_ = nullptr;
  /// A stream's owner and the DATA bytes it was given and has not consumed yet: when the
  /// stream closes first (a whole answer in one read), the session releases them, or the
  /// connection window would shrink by every such answer until the connection stalled.
  struct Owned {
    H2Stream* owner = nullptr;
    std::size_t unconsumed = 0;
    uint64_t head_at = kNotWritten;  ///< the output mark when its first HEADERS was written
  };
  struct Entry {
    int32_t id;
    Owned owned;
  };
  /// Gives the connection window back for bytes nobody will consume on a closed stream.
  void release(const Owned& owned);
  /// Where `id` is or would go in streams_.
  std::vector<Entry>::iterator position(int32_t id);
  Entry* find(int32_t id);
  void insert(int32_t id, H2Stream* owner);
  /// Forgets `entry` (from find(); the pointer is then invalid); its window is the caller's to
  /// release.
  void erase(Entry* entry);
  /// The open streams with an owner, by id. A session's stream ids only grow, so an insert
  /// lands at the end; a lookup tries the last hit, then binary-searches; an erase leaves a
  /// tombstone (owner nullptr) that a compaction removes once they outnumber the live entries,
  /// so it stays amortised O(1) when streams close oldest first. Nothing is allocated per stream
  /// (the hash map this replaced cost a node per request, and its lookups ~2% of an agent's time
  /// under gRPC load).
  std::vector<Entry> streams_;
  std::size_t live_streams_ = 0;
  std::size_t last_found_ = 0;  ///< index in streams_ of find()'s last hit (checked by id)
  Incoming incoming_;
  /// Header blocks nghttp2 points into until their HEADERS frame is written or dropped, in the
  /// order submitted, from unsent_head_ on. A stream's blocks go out in that order, so the
  /// first one of the frame's stream is the frame's. Moving a Headers moves neither its strings
  /// nor their bytes.
  struct Unsent {
    int32_t id;
    Headers headers;
  };
  std::vector<Unsent> unsent_;
  std::size_t unsent_head_ = 0;
  std::vector<nghttp2_nv> nv_;                 ///< to_nv()'s output, kept for its capacity
  std::vector<uint8_t>* producing_ = nullptr;  ///< produce()'s output, for on_send_data
  uint64_t output_mark_ = 0;                   ///< see mark_output()
  std::size_t batch_ = SIZE_MAX;
};

}  // namespace weft::l7
