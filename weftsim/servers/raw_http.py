#!/usr/bin/python3
"""Sends raw bytes to HOST:PORT and reports the HTTP/1.1 responses, run inside a pod by the
e2e tests (malformed and hand-built requests that no HTTP client would send).

  raw_http.py HOST PORT [--file F] [--idle S] [--timeout S] [< request-bytes]
Reads the request bytes from F (else stdin), sends them on one new TCP connection, then reads until
the server closes, or nothing arrived for --idle seconds (default 3), or --timeout (default
20) passed. The bytes read are split into responses (status line + headers, then a body by
Content-Length, chunked, or up to the close; 1xx, 204 and 304 have none). Prints one JSON
object:
  {"responses": [{"status": int, "line": status line, "headers": {lower-case name: value},
                  "body": text (latin-1, first 4 KiB)}],
   "statuses": [int, ...], "closed": the server closed (EOF or reset) before the idle
   timeout, "reset": that close was a reset, "sent": bytes written, "send_error": text or
   null, "received": total bytes, "unparsed": trailing bytes that were not a whole
   response (first 200, latin-1)}
"""
import argparse
import json
import select
import socket
import sys
import time

BODY_KEEP = 4096


def parse_responses(data):
    """Splits data into responses; returns (list, unparsed rest)."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        lines = data[pos:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            break
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body_start = end + 4
        if 100 <= status < 200 or status in (204, 304):
            body, pos = b"", body_start
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body, pos = _dechunk(data, body_start)
            if body is None:
                break
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if len(data) < body_start + n:
                break
            body, pos = data[body_start:body_start + n], body_start + n
        else:
            body, pos = data[body_start:], len(data)
        out.append({"status": status, "line": lines[0], "headers": headers,
                    "body": body[:BODY_KEEP].decode("latin-1")})
    return out, data[pos:]


def _dechunk(data, pos):
    body = bytearray()
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None, pos
        size = int(data[pos:eol].split(b";")[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                return None, pos
            return bytes(body), end + 4
        if len(data) < pos + size + 2:
            return None, pos
        body += data[pos:pos + size]
        pos += size + 2


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--file", help="the request bytes (default: stdin)")
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    if args.file:
        with open(args.file, "rb") as f:
            request = f.read()
    else:
        request = sys.stdin.buffer.read()
    out = {"sent": 0, "send_error": None, "closed": False, "reset": False}
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    sock.setblocking(False)
    received = bytearray()
    deadline = time.monotonic() + args.timeout
    last = time.monotonic()
    pending = memoryview(request)
    while True:
        now = time.monotonic()
        if now >= deadline or now - last >= args.idle:
            break
        want_write = [sock] if pending else []
        r, w, _ = select.select([sock], want_write, [],
                                min(deadline - now, args.idle - (now - last)))
        if w and pending:
            try:
                n = sock.send(pending[:65536])
                pending = pending[n:]
                out["sent"] += n
                last = time.monotonic()
            except BlockingIOError:
                pass
            except OSError as e:
                # The server may refuse before it read everything: keep reading its answer.
                out["send_error"] = repr(e)
                pending = memoryview(b"")
        if r:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                out["closed"] = out["reset"] = True
                break
            if not data:
                out["closed"] = True
                break
            received += data
            last = time.monotonic()
    sock.close()
    responses, rest = parse_responses(bytes(received))
    out.update({"responses": responses, "statuses": [r["status"] for r in responses],
                "received": len(received), "unparsed": rest[:200].decode("latin-1")})
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
