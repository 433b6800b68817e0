#!/usr/bin/env bash
# The reduced digits studies, one `geno repeat` per table cell, in the order that gives whole
# rows first (run from the folder that should hold the study directories):
#   bash specs/studies/run_digits.sh [ROWS...]     e.g. `v1 v4 d0 d0.1 v2 v0 v3 d0.01 d0.05`
# vK  = Table 3.2 row VK: ICDARTS (+ the Random column) and CDARTS, SEEDS seeds each
# dX  = Table 4.7 row delta = X: XDARTS with the latency objective
# then:  geno report table3_2/* --out report3_2 ;  geno report table4_7/* --out report4_7
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)/digits"
SEEDS="${SEEDS:-4}"
JOBS="${JOBS:-1}"
for row in "${@:-v1 v4 d0 d0.1 v2 v0 v3 d0.01 d0.05}"; do
  for r in $row; do
    case "$r" in
      v[0-4])
        V="V${r#v}"
        geno repeat "$HERE/$r.geno" --seeds "$SEEDS" --random "$SEEDS" --jobs "$JOBS" --label "$V" --out "table3_2/${r}_icdarts"
        geno repeat "$HERE/$r.geno" --seeds "$SEEDS" --jobs "$JOBS" --label "$V" --set algorithm.name=cdarts --out "table3_2/${r}_cdarts"
        ;;
      d*)
        D="${r#d}"
        geno repeat "$HERE/xdarts.geno" --seeds "$SEEDS" --jobs "$JOBS" --label "delta=$D" --set "algorithm.latency_delta=$D" --out "table4_7/delta_$D"
        ;;
      *) echo "unknown row $r" >&2; exit 2 ;;
    esac
  done
done
