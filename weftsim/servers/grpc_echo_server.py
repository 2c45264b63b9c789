#!/usr/bin/python3
"""A gRPC echo server run inside a pod's netns by the e2e tests (Debian's python3-grpcio, no
protobuf: every message is raw bytes, JSON by convention).

Service `weft.test.Echo`:
  Say      unary: replies {"pod": NAME, "peer": client IP, "echo": request as text}
  Stream   server streaming: request {"count": N}; replies N messages {"pod", "seq": i}
  Collect  client streaming: counts the request messages; replies {"pod", "count": n,
           "bytes": total}
  Chat     bidi: answers each message with {"pod", "seq": i, "echo": message as text}

Options:
  --delay-ms MS      sleep before each Say reply (a slow replica); with --http-status, answer
                     each request MS after its stream ended (other streams go on meanwhile;
                     a stream reset before then gets no answer). Such a server ignores
                     grpc-timeout: only a proxy can end the call sooner
  --fail-code NAME   answer every call with that gRPC status (e.g. UNAVAILABLE) and no message
  --http-status N    not gRPC at all: a plain HTTP/2 (h2c, prior knowledge) server, python3-h2,
                     that answers every request, once its request stream has ended, with
                     HTTP status N and a JSON body {"pod", "peer", "path", "status"}
                     (content-type application/json). A gRPC client sees the HTTP status
                     mapped to a gRPC code (e.g. 503 -> UNAVAILABLE). Bidi calls whose client
                     waits for an answer before ending its stream get none until it does.
                     Logs "request <peer> <path> -> N" per answer and "request <peer>
                     <path> reset before its answer" per answer whose stream was reset.
  --threads N        gRPC worker threads (default 128: every call, streaming ones included,
                     holds one while it runs)
Prints "ready <port>" on stdout once listening (pod_server.py's convention), then serves until
killed. Per-call errors go to stderr.
"""
import argparse
import json
import socket
import sys
import threading
import time
from concurrent import futures

SERVICE = "weft.test.Echo"


def _peer_ip(peer):
    """The address part of grpc's context.peer(): "ipv4:1.2.3.4:5", "ipv6:[::1]:5"."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rsplit(":", 1)[0]
        return host[1:-1] if host.startswith("[") else host
    return peer


def _json(obj):
    return json.dumps(obj).encode()


def _text(data):
    return data.decode("utf-8", errors="replace")


def _log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def _grpc_handler(grpc, name, delay_ms, fail_code):
    fail = grpc.StatusCode[fail_code] if fail_code else None

    def check_fail(context, method):
        if fail is not None:
            context.abort(fail, f"{name} answers every call with {fail.name} ({method})")

    def say(request, context):
        check_fail(context, "Say")
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        return _json({"pod": name, "peer": _peer_ip(context.peer()), "echo": _text(request)})

    def stream(request, context):
        check_fail(context, "Stream")
        try:
            count = int(json.loads(request)["count"])
        except (ValueError, KeyError, TypeError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"want {{\"count\": N}}: {e}")
        for i in range(count):
            yield _json({"pod": name, "seq": i})

    def collect(request_iterator, context):
        check_fail(context, "Collect")
        count = size = 0
        for message in request_iterator:
            count += 1
            size += len(message)
        return _json({"pod": name, "peer": _peer_ip(context.peer()), "count": count,
                      "bytes": size})

    def chat(request_iterator, context):
        check_fail(context, "Chat")
        for i, message in enumerate(request_iterator):
            yield _json({"pod": name, "seq": i, "echo": _text(message)})

    # No serializers: requests and replies stay bytes.
    return grpc.method_handlers_generic_handler(SERVICE, {
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Collect": grpc.stream_unary_rpc_method_handler(collect),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
    })


def _serve_grpc(args):
    import grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.threads),
                         handlers=[_grpc_handler(grpc, args.name, args.delay_ms,
                                                 args.fail_code)],
                         # Never share the port with another process by accident.
                         options=[("grpc.so_reuseport", 0)])
    port = server.add_insecure_port(f"{args.address}:{args.port}")
    if port == 0:
        raise SystemExit(f"cannot listen on {args.address}:{args.port}")
    server.start()
    print(f"ready {port}", flush=True)
    server.wait_for_termination()


def _h2_connection(sock, peer, name, status, delay_ms=0):
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    paths = {}
    # The reading loop and the delayed answers' timer threads share the connection.
    lock = threading.Lock()

    def answer(stream_id, path):
        """Sends the answer of one request (lock held)."""
        body = _json({"pod": name, "peer": peer[0], "path": path, "status": status}) + b"\n"
        try:
            conn.send_headers(stream_id, [
                (":status", str(status)), ("content-type", "application/json"),
                ("content-length", str(len(body)))])
            conn.send_data(stream_id, body, end_stream=True)
        except (h2.exceptions.StreamClosedError, h2.exceptions.StreamIDTooLowError):
            # Reset by the client (in the same read, or while the answer was delayed):
            # nothing to answer, the connection goes on.
            _log(f"request {peer[0]} {path} reset before its answer")
            return
        _log(f"request {peer[0]} {path} -> {status}")

    def delayed(stream_id, path):
        with lock:
            answer(stream_id, path)
            try:
                out = conn.data_to_send()
                if out:
                    sock.sendall(out)
            except OSError:
                pass  # the connection is gone

    try:
        with lock:
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65536)
            if not data:
                break
            with lock:
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        paths[event.stream_id] = dict(event.headers).get(":path", "")
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        path = paths.pop(event.stream_id, "")
                        if delay_ms:
                            timer = threading.Timer(delay_ms / 1000.0, delayed,
                                                    args=(event.stream_id, path))
                            timer.daemon = True
                            timer.start()
                        else:
                            answer(event.stream_id, path)
                    elif isinstance(event, h2.events.StreamReset):
                        paths.pop(event.stream_id, None)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        sock.sendall(conn.data_to_send())
                        return
                out = conn.data_to_send()
                if out:
                    sock.sendall(out)
    except (OSError, h2.exceptions.ProtocolError) as e:
        _log(f"connection from {peer[0]}:{peer[1]}: {e!r}")
    finally:
        with lock:
            sock.close()


def _serve_h2(args):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.address, args.port))
    listener.listen(512)
    print(f"ready {listener.getsockname()[1]}", flush=True)
    while True:
        sock, peer = listener.accept()
        threading.Thread(target=_h2_connection,
                         args=(sock, peer, args.name, args.http_status, args.delay_ms),
                         daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="0 = any free port")
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--name", required=True, help="pod name reported to clients")
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--fail-code", default=None, help="gRPC status name, e.g. UNAVAILABLE")
    parser.add_argument("--http-status", type=int, default=None)
    parser.add_argument("--threads", type=int, default=128)
    args = parser.parse_args()
    if args.fail_code:
        import grpc
        if args.fail_code not in grpc.StatusCode.__members__ or args.fail_code == "OK":
            parser.error(f"--fail-code: not a failing gRPC status name: {args.fail_code}")
    if args.http_status is not None:
        _serve_h2(args)
    else:
        _serve_grpc(args)


if __name__ == "__main__":
    main()
