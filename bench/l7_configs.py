"""The configurations the L7 benchmark runs: the backend's h2c and gRPC servers and the nginx
and HAProxy mTLS pairs it measures weft against."""
import benchlib
from l7_layout import (
    LOADS,
    APP_PORT,
    LOAD_INDEX,
    PAIR_LOCAL,
    PAIR_TLS,
    PLACEMENT_OFFSET,
    GRPC_REPLY,
    grpc_frame,
)

# The backend's h2c and gRPC servers (added to benchlib.NGINX_CONF's http block). The gRPC
# location reads the whole request body before answering, as a gRPC server does: `mirror` with
# mirror_request_body reads it (its subrequest answers 204 and is discarded), the static module
# then finds no file (ENOENT, or EACCES for the worker user in the 0700 workdir; cached by
# open_file_cache) and error_page hands the request to @reply. A plain
# `return` answers before the body arrives and then resets the stream (RST_STREAM NO_ERROR),
# which nginx's grpc_pass, reusing the upstream connection, takes as "upstream sent frame for
# unknown stream" and turns into a 502 for the next request (~0.1% of the nginx pair's calls).
BACKEND_EXTRA = """    server {{
        listen H2_PORT reuseport http2;
        location / {{ default_type text/plain; return 200 "hello from weft bench\\n"; }}
    }}
    server {{
        listen GRPC_PORT reuseport http2;
        location / {{
            mirror /_read_body;
            mirror_request_body on;
            root {dir}/no-such-dir;
            open_file_cache max=16;
            open_file_cache_errors on;
            log_not_found off;
            error_page 403 404 = @reply;
        }}
        location = /_read_body {{ internal; return 204; }}
        location @reply {{
            default_type application/grpc;
            add_trailer grpc-status 0 always;
            return 200 "GRPC_REPLY_FRAME";
        }}
    }}
""".replace("H2_PORT", str(APP_PORT["h2"])).replace("GRPC_PORT", str(APP_PORT["grpc"])).replace(
    "GRPC_REPLY_FRAME", grpc_frame(GRPC_REPLY).decode("latin-1"))
assert not set('"\\${};') & set(grpc_frame(GRPC_REPLY).decode("latin-1"))

NGINX_HTTP_HEAD = """worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile off;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
"""
NGINX_UPSTREAM = ("    upstream {name} {{ server {addr}; keepalive 64; "
                  "keepalive_requests 100000000; keepalive_timeout 300s; }}\n")
# proxy_pass for HTTP/1.1 (keep-alive upstream), grpc_pass for HTTP/2 and gRPC: nginx's only
# HTTP/2 upstream (one upstream connection per request in flight, kept alive).
NGINX_H1_PROXY = """proxy_pass {scheme}://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";"""
NGINX_H2_PROXY = "grpc_pass {scheme}://{upstream};"

HAPROXY_DEFAULTS = """defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
"""



def nginx_pair_configs(certs, peer, placement):
    """(server side, client side) nginx configs of one placement ({run} left for start_pair)."""
    off = PLACEMENT_OFFSET[placement]
    server = [NGINX_HTTP_HEAD, benchlib.nginx_tls_server(certs, "HTTP_SSL") + "\n"]
    client = [NGINX_HTTP_HEAD]
    for load in LOADS:
        i = LOAD_INDEX[load]
        h1 = load == "http1"
        tls = PAIR_TLS["nginx-pair"] + i
        server.append(NGINX_UPSTREAM.format(name=f"{load}_app",
                                            addr=f"127.0.0.1:{APP_PORT[load]}"))
        server.append(f"""    server {{
        listen {tls} ssl{'' if h1 else ' http2'};
        location / {{
            {(NGINX_H1_PROXY if h1 else NGINX_H2_PROXY).format(scheme='http' if h1 else 'grpc',
                                                               upstream=f'{load}_app')}
        }}
    }}
""")
        client.append(NGINX_UPSTREAM.format(name=f"{load}_tls", addr=f"{peer}:{tls}"))
        client.append(f"""    server {{
        listen 127.0.0.1:{PAIR_LOCAL['nginx-pair'] + off + i}{'' if h1 else ' http2'};
        location / {{
            {(NGINX_H1_PROXY if h1 else NGINX_H2_PROXY).format(scheme='https' if h1 else 'grpcs',
                                                               upstream=f'{load}_tls')}
{benchlib.nginx_tls_client('proxy_ssl' if h1 else 'grpc_ssl', certs, indent=' ' * 12)}
        }}
    }}
""")
    return "".join(server) + "}\n", "".join(client) + "}\n"


def haproxy_pair_configs(certs, peer, placement):
    """(server side, client side) HAProxy configs of one placement."""
    off = PLACEMENT_OFFSET[placement]
    server = [benchlib.HAPROXY_GLOBAL, HAPROXY_DEFAULTS]
    client = [benchlib.HAPROXY_GLOBAL, HAPROXY_DEFAULTS]
    for load in LOADS:
        i = LOAD_INDEX[load]
        h1 = load == "http1"
        tls = PAIR_TLS["haproxy-pair"] + i
        alpn = "alpn http/1.1" if h1 else "alpn h2"
        proto = "" if h1 else " proto h2"
        server.append(f"""frontend {load}_tls
    bind :{tls} {benchlib.haproxy_tls_server(certs)} {alpn}
    default_backend {load}_app
backend {load}_app
    server app 127.0.0.1:{APP_PORT[load]}{proto}
""")
        client.append(f"""frontend {load}_local
    bind 127.0.0.1:{PAIR_LOCAL['haproxy-pair'] + off + i}{proto}
    default_backend {load}_tls
backend {load}_tls
    server s {peer}:{tls} {benchlib.haproxy_tls_client(certs)} {alpn}
""")
    return "".join(server), "".join(client)
