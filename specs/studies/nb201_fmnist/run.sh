#!/usr/bin/env bash
# The NB201 / Fashion-MNIST benchmark study (README.md beside this file), run from the folder
# that should hold the study directories:
#   bash specs/studies/nb201_fmnist/run.sh            # SEEDS=8 FIRST_SEED=8 JOBS=2 by default
#   geno report nb201_fmnist/* --out nb201_fmnist_report
# Every arm searches with the same seeds and every found cell is retrained on Fashion-MNIST; the
# report scores every cell by the NAS-Bench-201 table as well. The ICDARTS arm carries the random
# column (random cells from the same space, retrained the same way). ARMS picks a subset by
# directory name, e.g. ARMS="icdarts cdarts".
set -euo pipefail
SPEC="$(cd "$(dirname "$0")" && pwd)/search.geno"
SEEDS="${SEEDS:-8}"
FIRST_SEED="${FIRST_SEED:-8}"     # seeds 0-7 went into the round-4 study and the probes of docs/search-quality.md
JOBS="${JOBS:-2}"
ARMS="${ARMS:-icdarts cdarts darts1 darts2 gdas drnas beta_darts pcdarts icdarts_beta icdarts_beta_rep}"

arm() {   # arm DIR LABEL [geno repeat options...] (a later --first-seed wins)
  local dir=$1 label=$2; shift 2
  case " $ARMS " in *" $dir "*) ;; *) return 0 ;; esac
  geno repeat "$SPEC" --seeds "$SEEDS" --first-seed "$FIRST_SEED" --jobs "$JOBS" --label "$label" \
    --out "nb201_fmnist/$dir" "$@"
}

arm icdarts "ICDARTS" --random "$SEEDS"
arm cdarts "CDARTS" --set algorithm.name=cdarts
arm darts1 "DARTS (1st order)" --set algorithm.name=darts --set algorithm.order=1
arm darts2 "DARTS (2nd order)" --set algorithm.name=darts
arm gdas "GDAS" --set algorithm.name=gdas
arm drnas "DrNAS" --set algorithm.name=drnas
arm beta_darts "β-DARTS" --set algorithm.name=beta_darts
arm pcdarts "PC-DARTS" --set algorithm.name=pcdarts
arm icdarts_beta "ICDARTS + β-decay" --set algorithm.beta_decay=0.5
# the one arm that met every target, replicated on the next 8 seeds with its own random column
arm icdarts_beta_rep "ICDARTS + β-decay (replication, seeds 16-23)" --set algorithm.beta_decay=0.5 \
  --random "$SEEDS" --first-seed $((FIRST_SEED + SEEDS))
