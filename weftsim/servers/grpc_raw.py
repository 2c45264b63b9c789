#!/usr/bin/python3
"""One gRPC call made by hand over HTTP/2 (h2c, prior knowledge) with python3-h2, run inside a
pod by the e2e tests: the request carries exactly the headers the test chooses (e.g. a
grpc-timeout) and the client itself never enforces a deadline, so whatever ends the call early
is someone else (the agent).

  grpc_raw.py HOST PORT [--path /weft.test.Echo/Say] [--message TEXT]
              [--grpc-timeout VALUE] [--header NAME:VALUE]... [--authority A] [--timeout S]

Sends HEADERS (:method POST, :scheme http, :path, :authority, content-type application/grpc,
te: trailers, grpc-timeout VALUE when given, e.g. "200m", then the extra headers) and one
DATA frame with the message in gRPC framing (uncompressed flag 0, 4-byte length) and
END_STREAM. Then it waits for the end of the stream (response trailers, or a reset, or the
connection closing); --timeout (default 10 s) only bounds the wait of this tool, nothing is
cancelled or sent when it passes. SETTINGS and PING are acknowledged, received DATA is
returned to the flow-control windows.

Prints one JSON object and exits 0:
  {"status": :status of the response HEADERS or null, "headers": {name: value} of them,
   "trailers": {name: value} of the trailing HEADERS, "trailers_only": the first response
   HEADERS ended the stream (a gRPC "Trailers-Only" response), "grpc_status": int from the
   trailers (or from the headers of a trailers-only response) or null, "grpc_message",
   "messages": [each length-prefixed response message, as text], "data_bytes",
   "ended": the stream ended normally, "reset": the RST_STREAM error code name or null,
   "goaway": error name of a GOAWAY or null, "closed": the connection closed,
   "timed_out": --timeout passed first, "first_response_s": seconds from sending the request
   to its response HEADERS (null without), "elapsed_s": seconds from sending the request to
   the end (or reset, close, timeout)}
"""
import argparse
import json
import select
import socket
import struct
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions


def _error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return str(code)


def _frame_messages(data):
    """Splits gRPC length-prefixed messages; the rest (an incomplete one) stays unparsed."""
    out, pos = [], 0
    while len(data) - pos >= 5:
        n = struct.unpack(">I", data[pos + 1:pos + 5])[0]
        if len(data) - pos - 5 < n:
            break
        out.append(data[pos + 5:pos + 5 + n].decode("utf-8", errors="replace"))
        pos += 5 + n
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--path", default="/weft.test.Echo/Say")
    parser.add_argument("--message", default="raw call")
    parser.add_argument("--grpc-timeout", default=None, help='e.g. "200m" (200 ms)')
    parser.add_argument("--header", action="append", default=[], help="NAME:VALUE")
    parser.add_argument("--authority", default=None)
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="how long this tool waits (never sent, never enforced on the call)")
    args = parser.parse_args()

    headers = [(":method", "POST"), (":scheme", "http"), (":path", args.path),
               (":authority", args.authority or f"{args.host}:{args.port}"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    if args.grpc_timeout is not None:
        headers.append(("grpc-timeout", args.grpc_timeout))
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name:
            parser.error(f"--header wants NAME:VALUE, got {h!r}")
        headers.append((name.strip().lower(), value.strip()))
    message = args.message.encode()

    out = {"status": None, "headers": {}, "trailers": {}, "trailers_only": False,
           "grpc_status": None, "grpc_message": None, "messages": [], "data_bytes": 0,
           "ended": False, "reset": None, "goaway": None, "closed": False, "timed_out": False,
           "first_response_s": None, "elapsed_s": None}
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers)
    conn.send_data(sid, b"\x00" + struct.pack(">I", len(message)) + message, end_stream=True)
    sock.sendall(conn.data_to_send())
    began = time.monotonic()
    deadline = began + args.timeout
    data = bytearray()
    done = False
    try:
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                out["timed_out"] = True
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                continue
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                out["closed"] = True
                break
            for event in conn.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
                    out["first_response_s"] = round(time.monotonic() - began, 4)
                    out["headers"] = dict(event.headers)
                    out["status"] = int(out["headers"].get(":status", 0)) or None
                    if event.stream_ended is not None:
                        out["trailers_only"] = True
                elif isinstance(event, h2.events.TrailersReceived) and event.stream_id == sid:
                    out["trailers"] = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length,
                                                   event.stream_id)
                    if event.stream_id == sid:
                        data += event.data
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                    out["ended"] = True
                    done = True
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == sid:
                    out["reset"] = _error_name(event.error_code)
                    done = True
                elif isinstance(event, h2.events.ConnectionTerminated):
                    out["goaway"] = _error_name(event.error_code)
                    if event.last_stream_id is not None and event.last_stream_id < sid:
                        done = True
            pending = conn.data_to_send()
            if pending:
                sock.sendall(pending)
    except (OSError, h2.exceptions.ProtocolError) as e:
        out["closed"] = True
        out["error"] = repr(e)
    out["elapsed_s"] = round(time.monotonic() - began, 4)
    source = out["trailers"] if out["trailers"] else (
        out["headers"] if out["trailers_only"] else {})
    if "grpc-status" in source:
        try:
            out["grpc_status"] = int(source["grpc-status"])
        except ValueError:
            out["grpc_status"] = source["grpc-status"]
        out["grpc_message"] = source.get("grpc-message")
    out["data_bytes"] = len(data)
    out["messages"] = _frame_messages(bytes(data))
    try:
        sock.close()
    except OSError:
        pass
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
