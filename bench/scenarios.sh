#!/bin/sh
# The scenarios of docs/bench.md, one after the other, each against a node parley-bench starts
# itself; each also against Janus VideoRoom right after (same flags,
# --target janus, inside bench/janus_netns.sh: needs root). JSON results (and the progress lines) go to OUT
# (default /tmp/parley-bench-results). Each run lasts well under a minute.
# Usage: bench/scenarios.sh [BUILD_DIR] [OUT] [NAME...]   (NAMEs: limit 10x10 10x10-janus
# 10x10-janus-el2 1x500 1x500-janus 1x50 1x50-janus; default all)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
out=${2:-/tmp/parley-bench-results}
[ $# -ge 2 ] && shift 2 || set --
only="$*"
mkdir -p "$out"
bench="$build/bench/parley-bench"
node="$build/parley-node"
# Rates are cut to what this 2-core shared machine's clients can receive (docs/bench.md):
# synthetic simulcast at 300 kbit/s top layer, so a middle or low layer frame is one packet.
common="--spawn-node $node --send-bitrate 300000 --threads 4 --duration 20 --json --limit-seconds 3"
want() { [ -z "$only" ] || case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
run() {
  name=$1; shift
  want "$name" || return 0
  echo "== $name: parley-bench $*" >&2
  "$bench" "$@" >"$out/$name.json" 2>"$out/$name.log" || echo "$name: exit $?" >&2
  cat "$out/$name.json"
}
run_janus() {
  name=$1; shift
  want "$name" || return 0
  echo "== $name: janus_netns.sh parley-bench --target janus $*" >&2
  "$here/janus_netns.sh" "$bench" --target janus --janus-log "$out/$name-janus.log" "$@" \
    >"$out/$name.json" 2>"$out/$name.log" || echo "$name: exit $?" >&2
  cat "$out/$name.json"
}
if want limit; then
  "$bench" limit --limit-seconds 6 --json >"$out/limit-1.json"
  "$bench" limit --limit-seconds 6 --sessions 500 --json >"$out/limit-500.json"
  cat "$out/limit-1.json" "$out/limit-500.json"
fi
# 10 meetings x 10 participants, each subscribing to the 9 others at the middle layer: against
# parley-node, then Janus with the same flags (--spawn-node is not used by --target janus).
s10x10="--sessions 100 --meetings 10 --publishers 10 --subscribers 0 --layer middle --fps 15 --ramp 10"
run 10x10 $common $s10x10
run_janus 10x10-janus $common $s10x10
# ... and Janus with its handles sharing 2 loop threads (event_loops) instead of one thread each.
run_janus 10x10-janus-el2 $common $s10x10 --janus-event-loops 2
# 1 publisher x 500 subscribers (middle layer).
s1x500="--sessions 500 --meetings 1 --publishers 1 --subscribers 500 --layer middle --fps 30 --ramp 25"
run 1x500 $common $s1x500
run_janus 1x500-janus $common $s1x500
# 1 meeting x 50 participants, each subscribing to the 49 others at the low layer.
s1x50="--sessions 50 --meetings 1 --publishers 50 --subscribers 0 --layer low --fps 6 --ramp 10"
run 1x50 $common $s1x50
run_janus 1x50-janus $common $s1x50
