#!/usr/bin/env bash
# The NB201 / Fashion-MNIST benchmark study (README.md beside this file), run from the folder
# that should hold the study directories:
#   bash specs/studies/nb201_fmnist/run.sh            # SEEDS=8 JOBS=2 by default
#   geno report nb201_fmnist/* --out nb201_fmnist_report
# ICDARTS with its random column (random cells from the same space, retrained the same way),
# ICDARTS with kd_mask = teacher_correct, then CDARTS; every search is retrained on
# Fashion-MNIST, and the report scores every cell by the NAS-Bench-201 table as well.
set -euo pipefail
SPEC="$(cd "$(dirname "$0")" && pwd)/search.geno"
SEEDS="${SEEDS:-8}"
JOBS="${JOBS:-2}"
geno repeat "$SPEC" --seeds "$SEEDS" --random "$SEEDS" --jobs "$JOBS" --label ICDARTS --out nb201_fmnist/icdarts
geno repeat "$SPEC" --seeds "$SEEDS" --jobs "$JOBS" --label "ICDARTS kd_mask" \
  --set algorithm.kd_mask=teacher_correct --out nb201_fmnist/icdarts_mask
geno repeat "$SPEC" --seeds "$SEEDS" --jobs "$JOBS" --label CDARTS --set algorithm.name=cdarts --out nb201_fmnist/cdarts
