#!/usr/bin/env bash
# weft benchmarks (as root, after tools/setup.sh built ./build). Exit status: 0 when the
# targets are met, 1 when one is missed, 2 when prerequisites are.
#
#   bench/run.sh [l4] [--duration 10] [--rounds 3] [--connections 32] [--build-dir build] [--no-save]
#     L4, one node (the default): direct vs weft (pod IP) vs weft (Service), HTTP/1.1 (wrk) and
#     bulk TCP (iperf3), 3 interleaved rounds, median; writes bench/results/<UTC date>-l4.md.
#
#   bench/run.sh cross-node [same options] [--ways direct,weft,nginx-pair,haproxy-pair]
#     Two nodes (issue 3): direct vs weft (mTLS tunnel) vs an nginx and an HAProxy mTLS pair,
#     HTTP/1.1 keep-alive, new connections and bulk TCP, plus weft's connections per full TLS
#     handshake; writes bench/results/<UTC date>-cross-node.md.
#
#   bench/run.sh l7 [same options, --connections defaults to 8] [--h2-clients 4] [--h2-streams 10]
#                   [--loads http1,h2,grpc] [--placements same-node,cross-node]
#                   [--ways direct,weft,weft-tcp,nginx-pair,haproxy-pair]
#     L7: HTTP/1.1 (wrk), HTTP/2 (h2load, h2c) and gRPC unary (h2load) direct vs weft (L7) vs
#     weft as L4 pass-through (appProtocol tcp) vs an nginx and an HAProxy mTLS pair, same node
#     and across nodes; writes bench/results/<UTC date>-l7.md.
#
#   bench/run.sh kube-scale [--services 500] [--pods 5000] [--rounds 3] [--settle 10]
#                           [--churn-pods 500] [--churn-rate 100] [--build-dir build] [--no-save]
#     Kubernetes discovery at scale (issue 21): one agent listing/watching the API stand-in
#     filled with N Services + EndpointSlices and P pods vs one on an empty stand-in: time to
#     /ready, RSS, LIST pages, CPU under pod label churn; writes
#     bench/results/<UTC date>-kube-scale.md.
#
#   bench/run.sh rollout [--rounds 3] [--ways handover,restart,kill] [--rate 30] [--lead 3]
#                        [--tail 3] [--drain-seconds 8] [--build-dir build] [--no-save]
#     Rollout (issue 22): two nodes under bounded HTTP/1.1, HTTP/2 and gRPC load while both
#     agents are replaced by weft's hand-over, and as references by SIGTERM + start and by
#     kill + start: failed requests, refused connections, p99 inside vs outside the
#     replacement windows; writes bench/results/<UTC date>-rollout.md.
#
#   bench/run.sh hardening [--parts idle,slowloris,partition] [--connections 2000]
#                          [--total-connections 10000] [--slow-connections 300]
#                          [--slow-seconds 150] [--cuts 5,30] [--cut-modes link,drop]
#                          [--build-dir build] [--no-save]
#     Hardening (issue 23), measured from outside the agents: RSS and fds per idle connection
#     (plain TCP and HTTP keep-alive, same node and across), slowloris from a meshed pod, an
#     unmeshed one and to a pod IP beside a well-behaved client, and the node link cut (ip link
#     down; silent drop) for 5 s and 30 s under fixed-rate probes; writes
#     bench/results/<UTC date>-hardening.md (~20 min).
#
#   bench/run.sh chaos [--minutes 30] [--seed 23] [--rate 20] [--newconn-rate 10]
#                      [--bulk-rate 2] [--backends-per-node 1] [--agent-arg=--FLAG=VALUE]...
#                      [--build-dir build] [--results-dir DIR] [--no-save]
#     Chaos soak (issue 23, not in CI): HTTP/1.1, HTTP/2, gRPC, new-connection and 1 MiB L4
#     load across two nodes while backends are killed and restarted, the node link is cut and
#     restored, slowloris/junk/idle clients come and go and manifests change every few
#     seconds: failures another endpoint could have served, agent RSS and fd slopes, crashes;
#     writes bench/results/<UTC date>-chaos.md and history.csv rows (~32 min).
#
#   bench/run.sh tap-cost [--duration 10] [--rounds 5] [--connections 8] [--loads http1,h2]
#                         [--ways no-tap,tap-idle,tap-open,tap-all] [--build-dir build]
#                         [--notap-build-dir build-notap] [--agent PATH] [--notap-agent PATH]
#                         [--no-save]
#     Tap cost (issue 24): req/s through one agent built with -Dtap=false (meson setup
#     build-notap -Dtap=false; ninja -C build-notap agent/weft-agent) vs the normal agent with
#     no tap session open (target: within 1 %), and informationally with a session matching
#     nothing and one matching everything; one node, HTTP/1.1 (wrk) and HTTP/2 (h2load), the
#     ways interleaved, median; writes bench/results/<UTC date>-tap-cost.md (~12 min).
set -euo pipefail
cd "$(dirname "$0")/.."
# The weftsim package (simulated nodes and pods) is imported from the repository root.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
case "${1:-}" in
  cross-node) shift; exec /usr/bin/python3 bench/cross_node_bench.py "$@" ;;
  l7) shift; exec /usr/bin/python3 bench/l7_bench.py "$@" ;;
  l4) shift; exec /usr/bin/python3 bench/l4_bench.py "$@" ;;
  kube-scale) shift; exec /usr/bin/python3 bench/kube_scale.py "$@" ;;
  rollout) shift; exec /usr/bin/python3 bench/rollout_bench.py "$@" ;;
  hardening) shift; exec /usr/bin/python3 bench/hardening_bench.py "$@" ;;
  chaos) shift; exec /usr/bin/python3 bench/chaos_soak.py "$@" ;;
  tap-cost) shift; exec /usr/bin/python3 bench/tap_cost_bench.py "$@" ;;
  *) exec /usr/bin/python3 bench/l4_bench.py "$@" ;;
esac
