"""What the clients that stall or probe a proxy (slowloris.py, hardening_client.py,
chaos_mischief.py, chaos_load.py) share: failure names, HTTP/1.1 GETs and their answers, slow
request heads, many non-blocking connects at once."""
import errno
import selectors
import socket
import time


def reason(exc):
    """A failure's name: timeout, refused, reset, unreachable, error_<errno name or type>."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    if isinstance(exc, OSError) and exc.errno:
        return f"error_{errno.errorcode.get(exc.errno, exc.errno)}"
    return f"error_{type(exc).__name__}"


def errno_reason(err):
    """reason() of an errno value (SO_ERROR, connect_ex)."""
    return reason(OSError(err, ""))


def get_request(host, user_agent=None, close=False):
    """An HTTP/1.1 `GET /` head for Host: host."""
    ua = f"User-Agent: {user_agent}\r\n" if user_agent else ""
    extra = "Connection: close\r\n" if close else ""
    return f"GET / HTTP/1.1\r\nHost: {host}\r\n{ua}{extra}\r\n".encode()


def response_done(buf):
    """(complete, status, close) of one HTTP/1.1 response with a Content-Length body (none:
    empty) in buf; a status line that does not parse: (True, 0, True)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, None, False
    lines = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return True, 0, True
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip() or 0)
        elif name == "connection" and "close" in value.lower():
            close = True
    return len(buf) >= end + 4 + length, status, close


def slow_head(i, size):
    """A request head that never ends: "GET / HTTP/1.1", Host: slow, then "X-Slow-<i>: a"
    lines (never the blank line) up to at least size bytes."""
    head = b"GET / HTTP/1.1\r\nHost: slow\r\n"
    while len(head) < size:
        head += f"X-Slow-{i}: a\r\n".encode()
    return head


def connect_all(host, port, n, failed, name=errno_reason, wait=10):
    """Starts n non-blocking connects at once, then yields each socket (non-blocking) as its
    connect is found complete, in the order they were started, within `wait` seconds in all;
    the others are closed and counted in failed {name(errno): n} (ETIMEDOUT: not done)."""
    def fail(s, err):
        why = name(err)
        failed[why] = failed.get(why, 0) + 1
        s.close()

    pending = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            fail(s, err)
            continue
        pending.append(s)
    deadline = time.monotonic() + wait
    for s in pending:
        w = selectors.DefaultSelector()
        w.register(s, selectors.EVENT_WRITE)
        ready = w.select(max(0.0, deadline - time.monotonic()))
        w.close()
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if ready else errno.ETIMEDOUT
        if err:
            fail(s, err)
            continue
        yield s
