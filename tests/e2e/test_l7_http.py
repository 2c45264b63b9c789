"""L7 HTTP: the agent terminates HTTP/1.1 and HTTP/2 cleartext from a meshed pod to a Service
ClusterIP (protocol detected from the first bytes: the Service port has a neutral name and no
appProtocol) and balances each request over the Service's endpoints; every request is counted
in weft_requests_total with Istio's labels. Bodies in every framing (Content-Length, chunked
with trailers, Expect: 100-continue, chunked responses) pass intact, an Upgrade (WebSocket)
turns the connection into plain TCP, malformed or smuggling requests get 400/431 and a closed
connection without reaching the app, HTTP/2 protocol errors and rapid reset end that one
connection only. Across nodes each request is a stream in the mTLS tunnel, so many client
connections share few agent-to-agent sessions. One node unless said: the source agent reports
both sides.

App: weftsim/servers/http_app.py (HTTP/1.1, its own parser, lenient where a proxy must be
strict so that smuggling would show in its log). HTTP/2 app: weftsim/servers/grpc_echo_server.py
--http-status.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from weftsim import paths, procs
from weftsim.manifests import principal
from weftsim.metrics import delta, settled
from weftsim.scenarios import (GRPC_PORT, HTTP_APP_PORT, grpc_echo_service, http_app_service,
                               two_nodes)

REQUESTS = "weft_requests_total"
DURATION_COUNT = "weft_request_duration_seconds_count"
KEEPALIVE_REQUESTS = 20
WINDOW_PAD_BYTES = 8000
WINDOW_REQUESTS = 600
UPLOAD_BYTES = 2 * 1024 * 1024
CHUNKS = 100
WS_MESSAGES = 50
WS_SIZES = "1,125,126,1000,65535,65536"
H2LOAD_REQUESTS = 2000
CROSS_CONNECTIONS = 30
CROSS_REQUESTS = 10
CROSS_REPLICAS = 3
RAPID_RESET_STREAMS = 10000

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: web\r\n\r\n"


@pytest.fixture(scope="module", autouse=True)
def _tools():
    """wrk, nghttp, h2load (nghttp2-client) and python3-h2/hpack: fail (never skip) without."""
    missing = [t for t in ("wrk", "nghttp", "h2load", "curl") if shutil.which(t) is None]
    r = subprocess.run([paths.PYTHON, "-c", "import h2, hpack"], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        missing.append(f"{paths.PYTHON} cannot import h2/hpack (apt-get install python3-h2)")
    if missing:
        pytest.fail("test_l7_http prerequisites missing: " + ", ".join(missing), pytrace=False)


# -- metrics ---------------------------------------------------------------------------------

def _request_labels(sc, reporter, code="200"):
    """Every label of a plain HTTP request from the client to the Service."""
    return {
        "reporter": reporter,
        "source_workload": "client",
        "source_workload_namespace": sc.namespace,
        "source_principal": principal(sc.namespace, "client"),
        "destination_service": sc.service_host,
        "destination_workload": sc.name,
        "destination_workload_namespace": sc.namespace,
        "destination_principal": principal(sc.namespace, sc.name),
        "request_protocol": "http",
        "response_code": code,
        "grpc_response_status": "",
        # Meshed to meshed counts as mutual_tls, on one node too (issue 3's contract).
        "connection_security_policy": "mutual_tls",
    }


def _wait_requests(agent, before, sc, expected, reporters=("source", "destination")):
    """Waits until `agent` counted `expected` 200s for each reporter, in the counter and the
    duration histogram; returns the last scrape."""
    seen = {}

    def counted():
        now = agent.metrics()
        for reporter in reporters:
            labels = _request_labels(sc, reporter)
            for name in (REQUESTS, DURATION_COUNT):
                seen[f"{name}{{reporter={reporter}}}"] = delta(before, now, name, **labels)
        return now if all(v == expected for v in seen.values()) else None
    try:
        return procs.wait_until(counted, 10, interval=0.3,
                                what=f"{expected} requests on {reporters}")
    except TimeoutError as e:
        lines = [line for line in agent.metrics().text.splitlines()
                 if line.startswith(("weft_requests_total", "# TYPE weft_request"))]
        raise AssertionError(f"{e}\ncounted {seen}, want {expected} each\n"
                             f"labels={_request_labels(sc, reporters[0])}\n" + "\n".join(lines)
                             ) from None


# -- helpers ---------------------------------------------------------------------------------

def _url(sc, path="/"):
    return f"http://{sc.address}{path}"


def _app_log(pod, port=HTTP_APP_PORT):
    """The whole log of the server the scenario started in pod."""
    with open(pod.servers[port].log_path, "rb") as f:
        return f.read().decode(errors="replace")


def _raw(cluster, sc, request, idle=3, timeout=20):
    """servers/raw_http.py from the client pod to the Service: sends `request` (bytes) on a
    new connection, returns its JSON report."""
    fd, path = tempfile.mkstemp(prefix="request-", dir=cluster.workdir)
    with os.fdopen(fd, "wb") as f:
        f.write(request)
    r = sc.client.run([paths.PYTHON, paths.RAW_HTTP, sc.cluster_ip, str(sc.port), "--file",
                       path, "--idle", str(idle), "--timeout", str(timeout)],
                      timeout=timeout + 20)
    return json.loads(r.stdout)


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _last_json(text):
    answers = _json_lines(text)
    if not answers:
        raise AssertionError(f"no JSON line in:\n{text}")
    return answers[-1]


def _random_file(cluster, name, size):
    path = os.path.join(cluster.workdir, name)
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return path, hashlib.sha256(data).hexdigest()


def _chunked(data, sizes):
    """data as chunks of the given sizes (cycled), without the last chunk."""
    out, pos, i = bytearray(), 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        piece = data[pos:pos + n]
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
        pos += n
        i += 1
    return bytes(out)


def _h2load(sc, requests=H2LOAD_REQUESTS):
    """h2load -n N -c 4 -m 10 (h2c, prior knowledge) from the client pod: (summary dict,
    output)."""
    r = sc.client.run(["h2load", "-n", str(requests), "-c", "4", "-m", "10", _url(sc)],
                      check=False, timeout=120)
    out = r.stdout + r.stderr
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    if not m:
        raise AssertionError(f"h2load printed no summary (exit {r.returncode}):\n{out}")
    keys = ("total", "started", "done", "succeeded", "failed", "errored", "timeout")
    summary = dict(zip(keys, map(int, m.groups())))
    codes = re.search(r"status codes: (\d+) 2xx", out)
    summary["2xx"] = int(codes.group(1)) if codes else None
    return summary, out


def _h2_service(cluster, node):
    """2 replicas of grpc_echo_server.py --http-status 200 (plain h2c) behind a Service;
    waits until nghttp gets a 200 through it."""
    sc = grpc_echo_service(cluster, node, replicas=2, name="h2web", wait=False,
                           server_args=lambda i: ["--http-status", 200])

    def answered():
        r = sc.client.run(["nghttp", "-nv", "-t", "2", _url(sc)], check=False, timeout=20)
        return r.returncode == 0 and ":status: 200" in r.stdout
    procs.wait_until(answered, 20, interval=0.3, what=f"nghttp {_url(sc)} answering 200")
    return sc


def _h2_served(sc):
    """Requests each replica of _h2_service answered (its per-request log lines)."""
    return {pod.name: sum(1 for line in _app_log(pod, GRPC_PORT).splitlines()
                          if line.startswith("request ") and line.endswith("-> 200"))
            for pod in sc.servers}


def _h2_abuse(sc, mode, *extra, timeout=15):
    r = sc.client.run([paths.PYTHON, paths.H2_ABUSE, sc.cluster_ip, str(sc.port), "--mode",
                       mode, "--timeout", str(timeout)] + [str(a) for a in extra],
                      timeout=timeout + 30)
    return json.loads(r.stdout)


def _agent_healthy(node):
    assert node.agent.service.alive(), f"the agent exited\n{node.agent.log()}"
    status, _ = node.agent.get("/ready")
    assert status == 200, f"/ready answered {status}"
    node.agent.metrics()


# -- a. keep-alive balancing -----------------------------------------------------------------

def test_one_keepalive_connection_is_balanced_per_request(cluster):
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=2)
    before = settled(node.agent)

    r = sc.client.run(["curl", "-sS", "--fail", "--max-time", "30",
                       "-w", "## %{num_connects} %{http_code}\n"]
                      + [_url(sc)] * KEEPALIVE_REQUESTS, timeout=60)
    answers = _json_lines(r.stdout)
    writeouts = [line.split() for line in r.stdout.splitlines() if line.startswith("## ")]
    assert len(answers) == KEEPALIVE_REQUESTS, r.stdout
    assert [w[2] for w in writeouts] == ["200"] * KEEPALIVE_REQUESTS, r.stdout
    # curl reused its one connection for every request (num_connects 1, then 0s).
    assert sum(int(w[1]) for w in writeouts) == 1, f"curl opened several connections:\n{r.stdout}"
    pods = {a["pod"] for a in answers}
    assert pods == {s.name for s in sc.servers}, (
        f"{KEEPALIVE_REQUESTS} requests on one connection all went to {pods}: {answers}")
    assert {a["peer"] for a in answers} == {sc.client.ip}, answers

    _wait_requests(node.agent, before, sc, KEEPALIVE_REQUESTS)


def test_answers_read_at_once_do_not_use_up_the_upstream_window(cluster):
    """A pooled HTTP/1.1 connection to the app is read while less than 1 MiB of answer body
    waits to be passed on. An answer read whole in one go ends its exchange before the client
    took the body: that body must not keep holding the window, or after about 1 MiB of such
    answers the connection stops reading and its next request hangs (~8 KiB answers here:
    about 128 requests per connection)."""
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=1)
    pad = "x" * WINDOW_PAD_BYTES  # /headers echoes the request's headers in its answer
    r = sc.client.run(["curl", "-sS", "--fail", "--fail-early", "--max-time", "10",
                       "-H", f"x-pad: {pad}",
                       "-w", "## %{http_code} %{size_download}\n"]
                      + [_url(sc, "/headers")] * WINDOW_REQUESTS, check=False, timeout=120)
    answered = [line.split()[1:] for line in r.stdout.splitlines() if line.startswith("## ")]
    assert r.returncode == 0 and len(answered) == WINDOW_REQUESTS, (
        f"{len(answered)} of {WINDOW_REQUESTS} answers on one keep-alive connection "
        f"(exit {r.returncode}: {r.stderr.strip()})")
    assert all(code == "200" and int(size) > WINDOW_PAD_BYTES for code, size in answered), \
        answered[:5]


# -- b. request bodies -----------------------------------------------------------------------

def test_chunked_upload_trailers_and_expect_continue(cluster):
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=2)
    path, digest = _random_file(cluster, "upload.bin", UPLOAD_BYTES)

    # curl encodes the file as chunks itself ("Expect:" stops it from adding
    # Expect: 100-continue, tested on its own below).
    r = sc.client.run(["curl", "-sS", "--fail", "--max-time", "30", "-T", path,
                       "-H", "Transfer-Encoding: chunked", "-H", "Expect:",
                       _url(sc, "/echo")], timeout=60)
    answer = _last_json(r.stdout)
    assert (answer["bytes"], answer["sha256"]) == (UPLOAD_BYTES, digest), answer

    # Hand-built chunks of odd sizes and a trailer (curl 7.88 cannot send trailers).
    body = os.urandom(300 * 1024 + 17)
    body_sha = hashlib.sha256(body).hexdigest()
    request = (b"POST /echo HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n"
               b"Trailer: X-Checksum\r\nConnection: close\r\n\r\n"
               + _chunked(body, [1, 4096, 65536, 7, 100000])
               + b"0\r\nX-Checksum: " + body_sha.encode() + b"\r\n\r\n")
    report = _raw(cluster, sc, request)
    assert report["statuses"] == [200], report
    answer = json.loads(report["responses"][0]["body"])
    assert (answer["bytes"], answer["sha256"]) == (len(body), body_sha), answer
    assert answer["trailers"] == {"x-checksum": body_sha}, f"the trailer was lost: {answer}"

    # Expect: 100-continue: curl waits up to 30 s for the 100 (longer than --max-time), so
    # this only passes if someone answers 100 Continue on time.
    r = sc.client.run(["curl", "-sS", "-v", "--fail", "--max-time", "20",
                       "--expect100-timeout", "30", "-H", "Expect: 100-continue",
                       "-T", path, _url(sc, "/echo")], timeout=60, check=False)
    assert r.returncode == 0, f"curl exit {r.returncode}:\n{r.stderr[-3000:]}"
    assert re.search(r"^< HTTP/1\.1 100", r.stderr, re.M), r.stderr[-3000:]
    answer = _last_json(r.stdout)
    assert (answer["bytes"], answer["sha256"]) == (UPLOAD_BYTES, digest), answer


# -- c. chunked response ---------------------------------------------------------------------

def test_chunked_response_arrives_complete(cluster):
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=2)
    r = sc.client.run(["curl", "-sS", "--fail", "--max-time", "20", "-D", "-",
                       _url(sc, f"/chunked/{CHUNKS}")], timeout=40)
    head, _, body = r.stdout.partition("\n\n")  # procs.run reads text: CRLF became LF
    assert head.startswith("HTTP/1.1 200"), r.stdout[:500]
    assert body.splitlines() == [f"chunk {i}" for i in range(CHUNKS)], r.stdout[-2000:]


# -- d. WebSocket ----------------------------------------------------------------------------

def test_websocket_upgrade_carries_the_connection(cluster):
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=2)
    r = sc.client.run([paths.PYTHON, paths.WS_CLIENT, sc.cluster_ip, str(sc.port),
                       "--messages", str(WS_MESSAGES), "--sizes", WS_SIZES], timeout=120)
    result = json.loads(r.stdout)
    assert result["ok"] == WS_MESSAGES and not result["errors"], result
    assert result["closed"], f"no close frame came back: {result}"
    assert result["pod"] in {s.name for s in sc.servers}, result
    served = next(s for s in sc.servers if s.name == result["pod"])
    echoed = [line for line in _app_log(served).splitlines()
              if re.match(r"ws \d+ (text|binary) ", line)]
    assert len(echoed) == WS_MESSAGES, _app_log(served)[-3000:]


# -- e. wrk ----------------------------------------------------------------------------------

def test_wrk_keepalive_load(cluster):
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=2)
    r = sc.client.run(["wrk", "-t1", "-c8", "-d3s", _url(sc)], timeout=60)
    out = r.stdout + r.stderr
    assert "Socket errors" not in out, out
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non2xx is None or int(non2xx.group(1)) == 0, out
    done = re.search(r"(\d+) requests in ", out)
    assert done and int(done.group(1)) > 100, out
    _agent_healthy(node)


# -- f. malformed and smuggling requests -----------------------------------------------------

def _post(*headers):
    return b"POST /echo HTTP/1.1\r\nHost: web\r\n" + b"".join(h + b"\r\n" for h in headers) + \
        b"\r\n"


def _malformed_cases():
    """(name, request bytes, expected status)."""
    cl_te_body = b"0\r\n\r\n" + SMUGGLED          # CL.TE: the front uses CL, the back TE
    inner = b"GET /smuggled HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\n\r\nx=1\r\n"
    size_line = b"%x\r\n" % len(inner)
    te_cl_body = size_line + inner + b"\r\n0\r\n\r\n"  # TE.CL: the back reads CL bytes only
    cl = b"Content-Length: %d"
    te = b"Transfer-Encoding: chunked"
    return [
        ("CL.TE, Content-Length first", _post(cl % len(cl_te_body), te) + cl_te_body, 400),
        ("CL.TE, Transfer-Encoding first", _post(te, cl % len(cl_te_body)) + cl_te_body, 400),
        ("TE.CL, Content-Length first", _post(cl % len(size_line), te) + te_cl_body, 400),
        ("TE.CL, Transfer-Encoding first", _post(te, cl % len(size_line)) + te_cl_body, 400),
        ("two different Content-Lengths", _post(b"Content-Length: 0",
                                                cl % len(SMUGGLED)) + SMUGGLED, 400),
        ("bad chunk size", _post(te) + b"zz\r\nhello\r\n0\r\n\r\n" + SMUGGLED, 400),
        ("100 KB header", b"GET / HTTP/1.1\r\nHost: web\r\nX-Big: " + b"a" * (100 * 1024) +
         b"\r\n\r\n", 431),
    ]


def test_malformed_and_smuggling_requests_are_refused(cluster):
    node = cluster.add_node("node1")
    sc = http_app_service(cluster, node, replicas=2)

    # Control: the raw client works through the mesh.
    report = _raw(cluster, sc,
                  b"GET /control HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
    assert report["statuses"] == [404] and report["closed"], report

    # Well-formed keep-alive traffic on other connections all along.
    bystander = procs.Service(
        sc.client.exec_argv([paths.PYTHON, paths.HTTP_CLIENT, sc.cluster_ip, str(sc.port),
                             "--connections", "2", "--requests", "60", "--interval-ms", "100"]),
        os.path.join(cluster.workdir, "bystander.log"), "bystander http_client")
    cluster.cleanup.push(f"stop {bystander.name}", bystander.stop)

    failures = []
    for name, request, expected in _malformed_cases():
        report = _raw(cluster, sc, request)
        summary = {k: report[k] for k in ("statuses", "closed", "reset", "send_error",
                                          "received", "unparsed")}
        if report["statuses"] != [expected] or not report["closed"]:
            failures.append(f"{name}: want [{expected}] and closed, got {summary}")
        # A well-formed request on a new connection right after.
        if sc.client.curl(_url(sc), timeout=5, check=False).returncode != 0:
            failures.append(f"after {name}: a well-formed request failed")
    assert not failures, "\n".join(failures)

    bystander.proc.wait(timeout=60)
    with open(bystander.log_path) as f:
        result = _last_json(f.read())
    assert result["ok"] == result["requests"], f"bystander connections failed: {result}"

    for pod in sc.servers:
        log = _app_log(pod)
        leaked = [line for line in log.splitlines()
                  if "/smuggled" in line or line.startswith("anomaly")]
        assert not leaked, f"{pod.name} saw what the agent should have refused: {leaked}"
    _agent_healthy(node)


# -- g. HTTP/2 clients -----------------------------------------------------------------------

def test_h2c_clients_nghttp_and_h2load(cluster):
    node = cluster.add_node("node1")
    sc = _h2_service(cluster, node)
    r = sc.client.run(["nghttp", "-nv", _url(sc)], check=False, timeout=30)
    assert r.returncode == 0 and ":status: 200" in r.stdout, f"{r.stdout}\n{r.stderr}"

    before = settled(node.agent)
    served_before = _h2_served(sc)
    summary, out = _h2load(sc)
    assert (summary["succeeded"], summary["failed"], summary["errored"], summary["2xx"]) == \
        (H2LOAD_REQUESTS, 0, 0, H2LOAD_REQUESTS), out
    served = {name: n - served_before[name] for name, n in _h2_served(sc).items()}
    assert sum(served.values()) == H2LOAD_REQUESTS, served
    assert all(n >= 0.1 * H2LOAD_REQUESTS for n in served.values()), (
        f"h2load's 4 connections were not balanced per request: {served}")
    _wait_requests(node.agent, before, sc, H2LOAD_REQUESTS)


# -- h. HTTP/2 protocol errors and rapid reset -----------------------------------------------

def test_h2_garbage_and_rapid_reset_end_only_that_connection(cluster):
    node = cluster.add_node("node1")
    sc = _h2_service(cluster, node)

    control = _h2_abuse(sc, "get")
    assert control["status"] == 200, control

    garbage = _h2_abuse(sc, "garbage")
    assert garbage["goaway"] and garbage["closed"], (
        f"garbage after the preface: want GOAWAY and the connection closed: {garbage}")

    reset = _h2_abuse(sc, "rapid-reset", "--streams", RAPID_RESET_STREAMS)
    assert reset["closed"], (
        f"{reset['streams_sent']} streams opened and reset at once: the connection is still "
        f"open: {reset}")

    summary, out = _h2load(sc)
    assert (summary["succeeded"], summary["errored"]) == (H2LOAD_REQUESTS, 0), out
    _agent_healthy(node)


# -- i. across nodes -------------------------------------------------------------------------

def test_many_http1_connections_share_few_tunnel_sessions_across_nodes(cluster):
    n1, n2 = two_nodes(cluster)
    sc = http_app_service(cluster, n1, replicas=CROSS_REPLICAS, server_node=n2)
    before1, before2 = settled(n1.agent), settled(n2.agent)

    r = sc.client.run([paths.PYTHON, paths.HTTP_CLIENT, sc.cluster_ip, str(sc.port),
                       "--connections", str(CROSS_CONNECTIONS),
                       "--requests", str(CROSS_REQUESTS)], timeout=180)
    result = json.loads(r.stdout)
    total = CROSS_CONNECTIONS * CROSS_REQUESTS
    assert result["ok"] == total, result
    assert result["by_peer"] == {sc.client.ip: total}, result
    assert set(result["by_pod"]) == {s.name for s in sc.servers}, result

    _wait_requests(n1.agent, before1, sc, total, reporters=("source",))
    after2 = _wait_requests(n2.agent, before2, sc, total, reporters=("destination",))
    sessions = delta(before2, after2, "weft_tunnel_sessions_opened_total", role="server")
    assert sessions <= 2 * CROSS_REPLICAS, (
        f"{sessions} tunnel sessions for {CROSS_CONNECTIONS} client connections "
        f"(app saw {result['app_connections']} upstream connections)")
