#!/bin/sh
# Runs a command (parley-bench --target janus ...) in a network namespace of its own where
# 127.0.0.2/32 sits on a veth interface: Janus gathers no ICE candidate on loopback
# interfaces, so it needs an address on a non-loopback one (docs/bench.md, "Janus"). Both veth
# ends stay inside the namespace: nothing is bound or routed outside it. The namespace is
# removed when the command ends (or the script is interrupted). Needs root.
# Usage: bench/janus_netns.sh COMMAND [ARGS...]   (PARLEY_NETNS_IP overrides 127.0.0.2)
set -eu
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
ip=${PARLEY_NETNS_IP:-127.0.0.2}
ns="parley-bench-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
child=
trap cleanup EXIT
# A trapped signal waits for a foreground child to end, so the command runs in the background
# and the trap passes the signal on: a test's timeout then stops the harness and Janus too.
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 130' INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add pbj0 type veth peer name pbj1
ip -n "$ns" addr add "$ip/32" dev pbj0
ip -n "$ns" link set pbj0 up
ip -n "$ns" link set pbj1 up
set +e
ip netns exec "$ns" "$@" &
child=$!
wait "$child"
rc=$?
set -e
exit $rc
