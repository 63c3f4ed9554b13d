#!/bin/sh
# The scenarios of docs/bench.md, one after the other, each against a node parley-bench starts
# itself; JSON results (and the progress lines) go to OUT (default /tmp/parley-bench-results).
# Usage: bench/scenarios.sh [BUILD_DIR] [OUT]. Each run lasts well under a minute.
set -eu
build=${1:-build}
out=${2:-/tmp/parley-bench-results}
mkdir -p "$out"
bench="$build/bench/parley-bench"
node="$build/parley-node"
# Rates are cut to what this 2-core shared machine's clients can receive (docs/bench.md):
# synthetic simulcast at 300 kbit/s top layer, so a middle or low layer frame is one packet.
common="--spawn-node $node --send-bitrate 300000 --threads 4 --duration 20 --json --limit-seconds 3"
run() {
  name=$1; shift
  echo "== $name: parley-bench $*" >&2
  "$bench" "$@" >"$out/$name.json" 2>"$out/$name.log" || echo "$name: exit $?" >&2
  cat "$out/$name.json"
}
"$bench" limit --limit-seconds 6 --json >"$out/limit-1.json"
"$bench" limit --limit-seconds 6 --sessions 500 --json >"$out/limit-500.json"
cat "$out/limit-1.json" "$out/limit-500.json"
# 10 meetings x 10 participants, each subscribing to the 9 others at the middle layer.
run 10x10 $common --sessions 100 --meetings 10 --publishers 10 --subscribers 0 --layer middle --fps 15 --ramp 10
# 1 publisher x 500 subscribers (middle layer).
run 1x500 $common --sessions 500 --meetings 1 --publishers 1 --subscribers 500 --layer middle --fps 30 --ramp 25
# 1 meeting x 50 participants, each subscribing to the 49 others at the low layer.
run 1x50 $common --sessions 50 --meetings 1 --publishers 50 --subscribers 0 --layer low --fps 6 --ramp 10
