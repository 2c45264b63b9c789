"""What the e2e clients (pod_client.py, soak_client.py, parallel_client.py) share on the wire."""


def recv_to_eof(sock):
    """Everything the peer sends until it closes its side, as bytes."""
    got = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(got)
        got += chunk
