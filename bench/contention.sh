#!/usr/bin/env bash
# Robustness under contention (issue 10, item 3): the quick-start search alone, then two of
# them at once on the same CPUs; prints each wall time and the slowdown of a search that has a
# second one beside it (target: <= ~2.5x).
#
#   bench/contention.sh                       # the quick start: geno search icdarts/digits
#   bench/contention.sh --steps-per-epoch 20  # shorter: any extra options go to both searches
#   MODE=fixed bench/contention.sh            # the old behaviour: a fixed count of all usable
#                                             # CPUs (GENOLANG_THREADS), nothing follows the load
#
# Run it on a quiet machine: the default thread count is the usable CPUs, lowered while
# other processes keep them busy (src/genolang/threads.py), so the environment's
# OMP_NUM_THREADS / MKL_NUM_THREADS / GENOLANG_THREADS are cleared here.
set -euo pipefail
cd "$(dirname "$0")/.."
GENO=${GENO:-.venv/bin/geno}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
unset OMP_NUM_THREADS MKL_NUM_THREADS GENOLANG_THREADS
if [ "${MODE:-adaptive}" = fixed ]; then
  export GENOLANG_THREADS=$(.venv/bin/python -c "from genolang.threads import usable_cpus; print(usable_cpus())")
fi

search() {   # search NAME: one quick-start search; prints its wall seconds
  local start end
  start=$(date +%s.%N)
  "$GENO" search icdarts/digits -q -o "$OUT/$1" "${@:2}" >"$OUT/$1.log" 2>&1 || { cat "$OUT/$1.log" >&2; exit 1; }
  end=$(date +%s.%N)
  awk "BEGIN { printf \"%.1f\", $end - $start }"
}

echo "mode ${MODE:-adaptive}; $(.venv/bin/python -c "from genolang.threads import usable_cpus; print(usable_cpus())") usable CPUs; options: ${*:-none}"
alone=$(search alone "$@")
echo "alone:           ${alone} s"
search first "$@" >"$OUT/first.t" &
pid=$!
second=$(search second "$@")
wait "$pid"
first=$(cat "$OUT/first.t")
echo "two at once:     ${first} s and ${second} s"
awk "BEGIN { printf \"slowdown:        %.2fx and %.2fx (target <= 2.5x)\n\", $first / $alone, $second / $alone }"
