"""What the bench scripts share: the pinned loads (wrk, h2load, iperf3) and their parsers, the
backends (nginx, iperf3 -s), the mTLS peer pairs (certificates, TLS settings, starting both sides
of an nginx or HAProxy pair), CPU and memory of proxy processes from /proc, the agents'
warn/error lines, formatting, the environment header, the result file and the run-and-clean-up
wrapper of main().

l4_bench.py, cross_node_bench.py and l7_bench.py import it as their sibling module. The
simulated nodes come from the `weftsim` package at the repository root, which bench/run.sh puts
on PYTHONPATH (by hand, from the repository root: `PYTHONPATH=$PWD /usr/bin/python3
bench/l4_bench.py ...`).
"""
import atexit
import csv
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

from cryptography import x509

from weftsim import certs
from weftsim import cleanup as cleanup_mod
from weftsim import paths, preflight, procs
from weftsim.cluster import Cluster

REPO = paths.REPO_ROOT

HTTP_PORT = 8080
IPERF_PORT = 5201
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOADGEN_CPU = 0  # wrk, iperf3 -c
SERVER_CPU = 1   # nginx, iperf3 -s, the agents, the peer proxies

NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile off;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {port} reuseport;
        location / {{ default_type text/plain; return 200 "hello from weft bench\\n"; }}
    }}
{extra}}}
"""


def pinned(cpu, argv):
    """argv under `taskset -c cpu` (taskset execs, so the PID stays the program's)."""
    return ["taskset", "-c", str(cpu)] + list(argv)


# ---------------------------------------------------------------------------------------------
# Loads and their output


def _duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"bad wrk duration {text!r}")
    scale = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]
    return float(m.group(1)) * scale


def parse_wrk(out):
    """requests/s, total requests, p50/p99 latency (µs) from `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = _duration_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _duration_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": total, "p50_us": p50, "p99_us": p99,
            "errors": (errors.group(1) if errors else "") +
                      (f" non2xx={non2xx.group(1)}" if non2xx else "")}


def wrk_argv(url, connections, seconds, close=False):
    """`wrk -t1 -cN -dSs --latency URL`; close=True adds `Connection: close`, so every
    request is a new TCP connection (the server closes after answering)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    return argv + [url]


def h2load_argv(url, clients, streams, seconds, log_file, body_file=None, headers=()):
    """`h2load -t1 -cC -mM -DSs --log-file F URL` (h2c prior knowledge for an http:// URL);
    body_file makes every request a POST of that file's bytes, headers are `name: value`."""
    argv = ["h2load", "-t1", f"-c{clients}", f"-m{streams}", f"-D{seconds}",
            "--log-file", log_file]
    if body_file:
        argv += ["-d", body_file]
    for h in headers:
        argv += ["-H", h]
    return argv + [url]


def percentile(sorted_values, q):
    """The q-th percentile (0..100) of an ascending list, nearest rank."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return float(sorted_values[rank - 1])


def parse_h2load(out, log_file):
    """requests/s, requests done, p50/p99 latency (µs) and failures from h2load's output and
    its --log-file (one line per finished request: start µs, status, µs to the end of the
    response). h2load itself only prints min/max/mean/sd; the percentiles come from the log.
    Requests h2load counts as failed or errored, timeouts and non-2xx statuses go to
    "errors" (h2load does not look at gRPC trailers)."""
    m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out)
    r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    st = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not (m and r and st):
        raise ValueError(f"unparsable h2load output:\n{out}")
    durations = []
    with open(log_file) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) >= 3:
                durations.append(int(cols[2]))
    durations.sort()
    failed, errored, timeout = int(r.group(5)), int(r.group(6)), int(r.group(7))
    non2xx = sum(int(st.group(i)) for i in (2, 3, 4))
    errors = " ".join(f"{name}={n}" for name, n in (("failed", failed), ("errored", errored),
                                                     ("timeout", timeout), ("non2xx", non2xx))
                      if n)
    return {"rps": float(m.group(1)), "requests": int(r.group(3)),
            "p50_us": percentile(durations, 50), "p99_us": percentile(durations, 99),
            "errors": errors}


def iperf_argv(host, port, seconds):
    """One iperf3 stream client -> server for `seconds`, JSON output."""
    return ["iperf3", "-c", host, "-p", str(port), "-t", str(seconds), "-J"]


def parse_iperf(out):
    """Gbit/s and bytes received from `iperf3 -J` output."""
    end = json.loads(out)["end"]["sum_received"]
    return {"gbps": end["bits_per_second"] / 1e9, "bytes": end["bytes"]}


def run_load(pod, argv, timeout):
    """Runs a load generator inside pod, pinned to LOADGEN_CPU; returns its stdout."""
    return procs.run(pinned(LOADGEN_CPU, pod.exec_argv(argv)), timeout=timeout).stdout


# ---------------------------------------------------------------------------------------------
# Backends


def start_nginx(pod, workdir, cleanup, name="nginx", port=HTTP_PORT, ready=None, extra=""):
    """nginx (NGINX_CONF: 1 worker, sendfile off, 22-byte `return 200`) in pod, pinned to
    SERVER_CPU; waits for ready() (default: the port listens in the pod). extra: more of the
    http block (e.g. server blocks), formatted with dir= the nginx run directory (so literal
    braces are doubled); written as latin-1, so a str may carry any byte, NUL included."""
    d = os.path.join(workdir, name)
    os.makedirs(d)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w", encoding="latin-1") as f:
        f.write(NGINX_CONF.format(dir=d, port=port, extra=extra.format(dir=d)))
    svc = procs.Service(pod.exec_argv(pinned(SERVER_CPU, ["nginx", "-c", conf, "-p", d])),
                        os.path.join(d, "stderr.log"), f"{name} in {pod.name}")
    cleanup.push(f"stop {svc.name}", svc.stop)
    procs.wait_until(ready or (lambda: port in pod.listening_ports()), 10,
                     what=f"{svc.name} up")
    return svc


def start_iperf_server(pod, workdir, cleanup, port=IPERF_PORT, log_name="iperf3-server.log"):
    """`iperf3 -s` in pod pinned to SERVER_CPU; waits until it listens."""
    svc = procs.Service(pod.exec_argv(pinned(SERVER_CPU, ["iperf3", "-s", "-p", str(port)])),
                        os.path.join(workdir, log_name), f"iperf3 -s in {pod.name}")
    cleanup.push(f"stop {svc.name}", svc.stop)
    procs.wait_until(lambda: port in pod.listening_ports(), 10, what=f"{svc.name} listening")
    return svc


# ---------------------------------------------------------------------------------------------
# CPU and memory of proxy processes


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        # After the ")" that ends comm: fields[0] is field 3 (state).
        return f.read().rsplit(")", 1)[1].split()


def cpu_ticks(pid):
    """utime + stime of a process (all its threads), clock ticks (fields 14/15 of stat)."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])


def session_pids(sid):
    """Every live process whose session is sid: a procs.Service (its own session) and what
    it forked, e.g. an nginx master and its worker."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat_fields(entry)[3]) == sid:  # field 6: session
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(out)


def _status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    """Proportional set size (shared pages split between their users), KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ProcSet:
    """The processes that make up one way's proxy (both agents, or both ends of a pair)."""

    def __init__(self, pids):
        self.pids = list(pids)

    def cpu_ticks(self):
        """Summed utime + stime."""
        return sum(cpu_ticks(p) for p in self.pids)

    def rss_kib(self):
        """Summed VmRSS (pages shared by an nginx master and its worker count twice)."""
        return sum(_status_kib(p, "VmRSS") for p in self.pids)

    def pss_kib(self):
        """Summed PSS (shared pages counted once)."""
        return sum(pss_kib(p) for p in self.pids)


NO_PROXY = ProcSet(())


# ---------------------------------------------------------------------------------------------
# mTLS peer pairs: the sidecar pattern done by nginx or HAProxy (client side in the client pod,
# server side in the server pod, TLS 1.3 with client certificates between them)

# The suite weft's agents negotiate with each other; the pairs are held to it too, so the
# comparison is not AES-128 against their default AES-256.
PEER_CIPHERSUITE = "TLS_AES_128_GCM_SHA256"
SERVER_NAME = "server.bench.local"
CLIENT_NAME = "client.bench.local"
PAIRS = ("nginx-pair", "haproxy-pair")


def write_pair_certs(directory):
    """A bench CA and server/client leaves in directory: ca.crt, {server,client}.{crt,key}
    for nginx, {server,client}.pem (cert + key) for HAProxy."""
    ca = certs.new_ca("weft bench peers CA")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "ca.crt"), "wb") as f:
        f.write(ca.cert_pem())
    for stem, name in (("server", SERVER_NAME), ("client", CLIENT_NAME)):
        pair = certs.new_leaf(ca, x509.DNSName(name))
        pair.write(directory, stem)
        fd = os.open(os.path.join(directory, f"{stem}.pem"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pair.cert_pem() + pair.key_pem())


def nginx_tls_client(prefix, certs_dir, indent="    "):
    """The client side's upstream TLS directives (prefix `proxy_ssl` for stream and http
    proxy_pass, `grpc_ssl` for grpc_pass): TLS 1.3 only, PEER_CIPHERSUITE, the client
    certificate, the server's chain and name verified, sessions reused."""
    lines = [f"{prefix}_protocols TLSv1.3;",
             f"{prefix}_conf_command Ciphersuites {PEER_CIPHERSUITE};",
             f"{prefix}_certificate {certs_dir}/client.crt;",
             f"{prefix}_certificate_key {certs_dir}/client.key;",
             f"{prefix}_trusted_certificate {certs_dir}/ca.crt;",
             f"{prefix}_verify on;",
             f"{prefix}_name {SERVER_NAME};",
             f"{prefix}_server_name on;",
             f"{prefix}_session_reuse on;"]
    return "\n".join(indent + line for line in lines)


def nginx_tls_server(certs_dir, cache, indent="    "):
    """The server side's listener TLS directives: TLS 1.3 only, PEER_CIPHERSUITE, the server
    certificate, a client certificate from the bench CA required, a session cache."""
    lines = ["ssl_protocols TLSv1.3;",
             f"ssl_conf_command Ciphersuites {PEER_CIPHERSUITE};",
             f"ssl_certificate {certs_dir}/server.crt;",
             f"ssl_certificate_key {certs_dir}/server.key;",
             f"ssl_client_certificate {certs_dir}/ca.crt;",
             "ssl_verify_client on;",
             f"ssl_session_cache shared:{cache}:1m;"]
    return "\n".join(indent + line for line in lines)


HAPROXY_GLOBAL = f"""global
    nbthread 1
    maxconn 8000
    ssl-default-bind-options ssl-min-ver TLSv1.3
    ssl-default-server-options ssl-min-ver TLSv1.3
    ssl-default-bind-ciphersuites {PEER_CIPHERSUITE}
    ssl-default-server-ciphersuites {PEER_CIPHERSUITE}
"""


def haproxy_tls_client(certs_dir):
    """A `server` line's TLS options on the client side: TLS 1.3 with the client certificate,
    the server's chain and name verified."""
    return (f"ssl crt {certs_dir}/client.pem ca-file {certs_dir}/ca.crt verify required "
            f"verifyhost {SERVER_NAME} sni str({SERVER_NAME}) ssl-min-ver TLSv1.3")


def haproxy_tls_server(certs_dir):
    """A `bind` line's TLS options on the server side: TLS 1.3, a client certificate from the
    bench CA required."""
    return (f"ssl crt {certs_dir}/server.pem ca-file {certs_dir}/ca.crt verify required "
            "ssl-min-ver TLSv1.3")


def nginx_side(pod, conf, run_dir, name):
    """nginx -c conf in pod pinned to SERVER_CPU (its master forks the worker)."""
    return procs.Service(pod.exec_argv(pinned(
        SERVER_CPU, ["nginx", "-c", conf, "-p", run_dir, "-e", f"{run_dir}/error.log"])),
        os.path.join(run_dir, "stderr.log"), name)


def haproxy_side(pod, conf, run_dir, name):
    """haproxy -db -f conf in pod pinned to SERVER_CPU."""
    return procs.Service(pod.exec_argv(pinned(SERVER_CPU, ["haproxy", "-db", "-f", conf])),
                         os.path.join(run_dir, "stderr.log"), name)


def start_pair(workdir, cleanup, way, sides, through, timeout=15):
    """Starts one pair. sides: [(side name, pod, config text)], server side first (nginx or
    HAProxy after way's first word); each gets <workdir>/<way>-<side>/ for its config, pid
    file and logs. Then polls through() (a call through the pair) until it is truthy, failing
    early if a side exited. Returns the ProcSet of every process of every side (an nginx
    master and its worker) and the config paths."""
    kind = way.split("-")[0]
    start_side = {"nginx": nginx_side, "haproxy": haproxy_side}[kind]
    services, confs = [], []
    for side, pod, text in sides:
        run_dir = os.path.join(workdir, f"{way}-{side}")
        os.makedirs(run_dir)
        conf = os.path.join(run_dir, f"{kind}.conf")
        with open(conf, "w") as f:
            f.write(text.replace("{run}", run_dir))
        svc = start_side(pod, conf, run_dir, f"{kind} {side} side of {way} in {pod.name}")
        cleanup.push(f"stop {svc.name}", svc.stop)
        services.append(svc)
        confs.append(conf)

    def ready():
        for svc in services:
            if not svc.alive():
                raise RuntimeError(f"{svc.name} exited: {svc.log()}")
        return through()
    procs.wait_until(ready, timeout, interval=0.3, what=f"a call through the {way}")
    return ProcSet([pid for svc in services for pid in session_pids(svc.pid)]), confs


def agent_log_problems(nodes):
    """The warn and error lines the nodes' agents logged (a bench should make none)."""
    out = []
    for node in nodes:
        if node.agent is None:
            continue
        with open(node.agent.log_path, errors="replace") as f:
            out += [f"{node.name}: {line.strip()}" for line in f
                    if re.search(r"Z \S+ (warn|error) ", line)]
    return out


# ---------------------------------------------------------------------------------------------
# Reports, results, main()


def median(samples, key):
    """Median of one key over a list of sample dicts."""
    return statistics.median(s[key] for s in samples)


def ratio(a, b):
    """a/b as `1.23x`, or n/a."""
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def ms(us):
    """Microseconds as `1.23 ms`."""
    return f"{us / 1000:.2f} ms"


def cpu_cell(way, value, fmt):
    """A proxy CPU cell: — for direct (no proxy)."""
    return "—" if way == "direct" else fmt.format(value)


def environment():
    """The run's commit (short, and whether the working tree had local changes), kernel, CPU
    count and model."""
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain"], capture_output=True,
                           text=True).stdout.strip()
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"commit": rev, "dirty": bool(dirty), "kernel": platform.release(),
            "cpus": os.cpu_count(), "cpu_model": cpu}


def environment_line():
    """`- commit <rev> (with local changes), kernel X, N CPUs (model)`."""
    e = environment()
    return (f"- commit `{e['commit']}`{' (with local changes)' if e['dirty'] else ''}, kernel "
            f"{e['kernel']}, {e['cpus']} CPUs ({e['cpu_model']})")


def utc_now():
    """Now, UTC (when a run finished: the report header, the result file's date, history.csv)."""
    return datetime.datetime.now(datetime.timezone.utc)


def save(text, results_dir, kind, when):
    """Writes results_dir/<UTC date>-<kind>.md (then <date>-2-<kind>.md, ...); the path."""
    os.makedirs(results_dir, exist_ok=True)
    day = when.strftime("%Y-%m-%d")
    path = os.path.join(results_dir, f"{day}-{kind}.md")
    n = 2
    while os.path.exists(path):
        path = os.path.join(results_dir, f"{day}-{n}-{kind}.md")
        n += 1
    with open(path, "w") as f:
        f.write(text + "\n")
    return path


# ---- bench/results/history.csv: the headline figures of every saved run ------------------------

HISTORY_FILE = "history.csv"
# One row per (run, placement, load, way); bench/README.md documents each column.
HISTORY_COLUMNS = ("date", "commit", "kind", "placement", "load", "way", "rate", "rate_unit",
                   "vs_direct", "l7_vs_l4", "proxy_cpu", "proxy_cpu_unit", "p99_ms", "rounds",
                   "seconds", "cpu_model", "report")
RATE_UNITS = {"http1": "req/s", "h2": "req/s", "grpc": "req/s", "newconn": "conn/s",
              "bulk": "Gbit/s"}
CPU_UNITS = {"http1": "us/req", "h2": "us/req", "grpc": "us/req", "newconn": "us/conn",
             "bulk": "CPU-s/GiB"}


def history_row(placement, load, way, rate, direct_rate=None, proxy_cpu=None, p99_us=None,
                l7_vs_l4=None):
    """The per-way columns of one history.csv row, rounded as the Markdown report rounds them
    (req/s and conn/s whole, Gbit/s and ratios to 2 places, CPU per request to 0.1 µs, per GiB to
    0.001 s, p99 to 0.01 ms). Empty where the figure does not apply: no proxy CPU for direct, no
    p99 for bulk, no vs_direct when direct did not run, l7_vs_l4 only on L7 weft rows."""
    bulk = load == "bulk"
    cpu = way != "direct" and proxy_cpu is not None
    return {"placement": placement, "load": load, "way": way,
            "rate": f"{rate:.2f}" if bulk else f"{rate:.0f}",
            "rate_unit": RATE_UNITS[load],
            "vs_direct": f"{rate / direct_rate:.2f}" if direct_rate else "",
            "l7_vs_l4": "" if l7_vs_l4 is None else f"{l7_vs_l4:.2f}",
            "proxy_cpu": (f"{proxy_cpu:.3f}" if bulk else f"{proxy_cpu:.1f}") if cpu else "",
            "proxy_cpu_unit": CPU_UNITS[load] if cpu else "",
            "p99_ms": "" if bulk or p99_us is None else f"{p99_us / 1000:.2f}"}


def append_history(results_dir, rows):
    """Appends complete rows (every HISTORY_COLUMNS key) to results_dir/history.csv, writing
    the header first when the file is new; the path."""
    path = os.path.join(results_dir, HISTORY_FILE)
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerows(rows)
    return path


def run_columns(when, kind, args, report_path):
    """The columns history.csv repeats on every row of one run."""
    e = environment()
    return {"date": when.strftime("%Y-%m-%d %H:%M"),
            "commit": e["commit"] + ("-dirty" if e["dirty"] else ""), "kind": kind,
            "rounds": args.rounds, "seconds": args.duration, "cpu_model": e["cpu_model"],
            "report": os.path.basename(report_path)}


def add_common_args(parser):
    """The options every bench script takes."""
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--results-dir", default=os.path.join(REPO, "bench", "results"))
    parser.add_argument("--no-save", action="store_true", help="print only")


def prerequisites(build, tools, need_binaries=True):
    """Everything missing: the e2e preflight, the bench's tools (name -> Debian package),
    two CPUs."""
    missing = preflight.problems(build, need_binaries=need_binaries)
    for tool, package in tools.items():
        if shutil.which(tool) is None:
            missing.append(f"'{tool}' not found (apt-get install {package})")
    if os.cpu_count() < 2:
        missing.append("needs 2 CPUs (load generator and server pinned apart)")
    return missing


class BenchBase:
    """A temp workdir and an empty weftsim Cluster, both undone by cleanup; samples per
    (load, way)."""

    def __init__(self, args, cleanup):
        self.args = args
        self.cleanup = cleanup
        self.workdir = tempfile.mkdtemp(prefix=f"{cleanup_mod.PREFIX}-bench-")
        cleanup.push(f"rm -rf {self.workdir}", shutil.rmtree, self.workdir, True)
        self.build = paths.Build(args.build_dir)
        self.cluster = Cluster(self.build, self.workdir, cleanup)
        self.samples = {}  # (load, way) -> list of dicts
        self.finished = None  # UTC, set by run() when the measurements are done

    def record(self, load, way, sample):
        """Keeps one measured sample."""
        self.samples.setdefault((load, way), []).append(sample)


def run(args, kind, make_bench, report, history):
    """make_bench(args, cleanup) -> a BenchBase with setup() and run(); report(bench, args)
    -> (markdown, met); history(bench, args) -> history_row()s (none: nothing appended).
    Tears everything down (also on errors and SIGTERM), prints the report, saves it and appends
    its rows to history.csv unless --no-save; returns the exit status (0 met, 1 missed)."""
    def _terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, _terminate)
    atexit.register(cleanup_mod.sweep)
    cleanup = cleanup_mod.Cleanup()
    bench = None
    try:
        bench = make_bench(args, cleanup)
        bench.setup()
        bench.run()
        bench.finished = utc_now()
        text, met = report(bench, args)
        rows = history(bench, args)
    except BaseException:
        if bench is not None and bench.cluster.nodes:
            sys.stderr.write(bench.cluster.agent_logs()[-5000:] + "\n")
            if bench.cluster.apiserver is not None:
                sys.stderr.write(bench.cluster.apiserver.log()[-3000:] + "\n")
        raise
    finally:
        cleanup.run()
        cleanup_mod.sweep()
    print(text)
    if not args.no_save:
        path = save(text, args.results_dir, kind, bench.finished)
        print(f"saved {path}")
        if rows:
            run_cols = run_columns(bench.finished, kind, args, path)
            csv_path = append_history(args.results_dir, [dict(r, **run_cols) for r in rows])
            print(f"appended {len(rows)} rows to {csv_path}")
    return 0 if met else 1
