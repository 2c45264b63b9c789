#!/usr/bin/python3
"""A fake weft tunnel peer (TLS 1.3 + ALPN h2 + HTTP/2 CONNECT) with a chosen certificate,
run inside a pod's netns by the e2e tests. Python's ssl module + python3-h2.

  server --port P --cert C --key K --ca A
      Listens on P (TLS 1.3 only, offers h2, requires a client certificate chaining to A).
      Prints "ready <port>" on stdout, then per connection one JSON line on stderr:
        {"event": "handshake", "ok": true, "peer": ip, "peerUri": uri, "version", "alpn"}
        {"event": "handshake", "ok": false, "peer": ip, "error": "..."}
        {"event": "connect", "peer": ip, "authority": "ip:port"}
      A CONNECT stream is answered 200 and every DATA byte is echoed back; the client's
      END_STREAM ends the echo stream. Other methods get 405.
  client --host H --port P --cert C --key K --ca A [--connect AUTHORITY --send N --marker T]
      Connects, handshakes and waits for the server's HTTP/2 SETTINGS (in TLS 1.3 a server
      rejects a client certificate only after the client finished its handshake: the
      SETTINGS frame is what proves acceptance). With --connect opens one CONNECT stream,
      sends N random bytes (or T repeated), ends the stream and reads the echo back.
      Prints one JSON object:
        {"handshake": "ok"|"failed", "accepted": bool, "error", "version", "alpn",
         "peerUri", "status": CONNECT :status, "sent": n, "received": n, "echoed": bool}
"""
import argparse
import json
import os
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def _context(server_side, cert, key, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.check_hostname = False  # peers are identified by URI SAN (SPIFFE ID), not hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])
    return ctx


def _peer_uri(tls):
    cert = tls.getpeercert() or {}
    uris = [v for k, v in cert.get("subjectAltName", ()) if k == "URI"]
    return uris[0] if uris else None


def _h2_config(client_side):
    # python3-h2 4.1 insists on :path/:scheme in every request, but a plain CONNECT (RFC 9113
    # section 8.5, what weft's tunnel speaks) has neither: header validation is turned off.
    return h2.config.H2Configuration(client_side=client_side, validate_outbound_headers=False,
                                     validate_inbound_headers=False)


def _log(obj):
    sys.stderr.write(json.dumps(obj) + "\n")
    sys.stderr.flush()


class _Sender:
    """Sends DATA within HTTP/2 flow control; what does not fit waits for WINDOW_UPDATE."""

    def __init__(self, conn):
        self.conn = conn
        self.pending = {}  # stream id -> bytearray
        self.ending = set()

    def queue(self, stream_id, data=b"", end=False):
        self.pending.setdefault(stream_id, bytearray()).extend(data)
        if end:
            self.ending.add(stream_id)
        self.flush()

    def flush(self):
        for sid in list(self.pending):
            buf = self.pending[sid]
            try:
                while buf:
                    n = min(len(buf), self.conn.local_flow_control_window(sid),
                            self.conn.max_outbound_frame_size)
                    if n <= 0:
                        break
                    self.conn.send_data(sid, bytes(buf[:n]))
                    del buf[:n]
                if not buf:
                    del self.pending[sid]
                    if sid in self.ending:
                        self.ending.discard(sid)
                        self.conn.end_stream(sid)
            except h2.exceptions.StreamClosedError:
                self.pending.pop(sid, None)
                self.ending.discard(sid)


def _serve_connection(ctx, sock, addr):
    peer = addr[0]
    try:
        sock.settimeout(30)
        tls = ctx.wrap_socket(sock, server_side=True)
    except (ssl.SSLError, OSError) as e:
        _log({"event": "handshake", "ok": False, "peer": peer, "error": str(e)})
        sock.close()
        return
    _log({"event": "handshake", "ok": True, "peer": peer, "peerUri": _peer_uri(tls),
          "version": tls.version(), "alpn": tls.selected_alpn_protocol()})
    conn = h2.connection.H2Connection(_h2_config(client_side=False))
    sender = _Sender(conn)
    try:
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        tls.settimeout(None)
        while True:
            data = tls.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    headers = {k.decode() if isinstance(k, bytes) else k:
                               v.decode() if isinstance(v, bytes) else v
                               for k, v in ev.headers}
                    if headers.get(":method") == "CONNECT":
                        _log({"event": "connect", "peer": peer,
                              "authority": headers.get(":authority")})
                        conn.send_headers(ev.stream_id, [(":status", "200")])
                    else:
                        conn.send_headers(ev.stream_id, [(":status", "405")], end_stream=True)
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    sender.queue(ev.stream_id, ev.data)
                elif isinstance(ev, h2.events.StreamEnded):
                    sender.queue(ev.stream_id, end=True)
                elif isinstance(ev, h2.events.WindowUpdated):
                    sender.flush()
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    tls.sendall(conn.data_to_send())
                    return
            tls.sendall(conn.data_to_send())
    except (ssl.SSLError, OSError, h2.exceptions.ProtocolError) as e:
        _log({"event": "closed", "peer": peer, "error": str(e)})
    finally:
        tls.close()


def _server(args):
    ctx = _context(True, args.cert, args.key, args.ca)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("0.0.0.0", args.port))
    lsock.listen(128)
    print(f"ready {lsock.getsockname()[1]}", flush=True)
    while True:
        sock, addr = lsock.accept()
        threading.Thread(target=_serve_connection, args=(ctx, sock, addr), daemon=True).start()


def _client(args):
    out = {"handshake": "failed", "accepted": False, "error": None, "version": None,
           "alpn": None, "peerUri": None, "status": None, "sent": 0, "received": 0,
           "echoed": False}
    ctx = _context(False, args.cert, args.key, args.ca)
    try:
        raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        tls = ctx.wrap_socket(raw)
    except (ssl.SSLError, OSError) as e:
        out["error"] = f"handshake: {e}"
        return out
    out.update(handshake="ok", version=tls.version(), alpn=tls.selected_alpn_protocol(),
               peerUri=_peer_uri(tls))
    conn = h2.connection.H2Connection(_h2_config(client_side=True))
    sender = _Sender(conn)
    payload = os.urandom(args.send)
    if args.marker:
        text = args.marker.encode()
        payload = (text * (args.send // len(text) + 1))[:args.send]
    got = bytearray()
    stream_id = None
    try:
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        done = False
        while not done:
            data = tls.recv(65536)
            if not data:
                out["error"] = out["error"] or "connection closed by the server"
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RemoteSettingsChanged) and not out["accepted"]:
                    out["accepted"] = True
                    if not args.connect:
                        done = True
                        break
                    stream_id = conn.get_next_available_stream_id()
                    conn.send_headers(stream_id, [(b":method", b"CONNECT"),
                                                  (b":authority", args.connect.encode())]
                                      + [tuple(h.encode().split(b"=", 1)) for h in args.header])
                elif isinstance(ev, h2.events.ResponseReceived):
                    headers = dict((k.decode() if isinstance(k, bytes) else k,
                                    v.decode() if isinstance(v, bytes) else v)
                                   for k, v in ev.headers)
                    out["status"] = int(headers.get(":status", "0"))
                    if out["status"] != 200:
                        done = True
                        break
                    sender.queue(stream_id, payload, end=True)
                    out["sent"] = len(payload)
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    got += ev.data
                elif isinstance(ev, h2.events.WindowUpdated):
                    sender.flush()
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                    if isinstance(ev, h2.events.StreamReset):
                        out["error"] = f"stream reset (code {ev.error_code})"
                    done = True
                    break
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    out["error"] = f"GOAWAY (code {ev.error_code})"
                    done = True
                    break
            tls.sendall(conn.data_to_send())
    except (ssl.SSLError, OSError, h2.exceptions.ProtocolError) as e:
        out["error"] = f"after handshake: {e}"
    finally:
        tls.close()
    out["received"] = len(got)
    out["echoed"] = bool(payload) and bytes(got) == payload
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int, default=15008)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ca", required=True, help="trust anchor(s) the peer must chain to")
    parser.add_argument("--connect", help="client: CONNECT this authority (ip:port)")
    parser.add_argument("--send", type=int, default=0, help="client: bytes to send on CONNECT")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="client: an extra CONNECT request header (repeatable)")
    parser.add_argument("--marker", help="client: send this text repeated instead of random bytes")
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()
    if args.role == "server":
        _server(args)
        return
    if not args.host:
        parser.error("client needs --host")
    socket.setdefaulttimeout(args.timeout)
    json.dump(_client(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
