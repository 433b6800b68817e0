#!/usr/bin/env bash
# GPU check (issue 10, item 4): the cyclic step at b64 / b256, fp32 / bf16, CUDA graphs off /
# on, and the retraining step (DARTS V2, 20 cells C36, b128): img/s, peak GPU memory, and the
# projected time of a full CIFAR-10 ICDARTS search. Fits in about 6 minutes on an H200
# (--budget caps the timed part, 300 s by default; later rows are skipped past it).
#
#   bench/gpu_check.sh                        # on a machine with CUDA
#   bench/gpu_check.sh --device cpu --tiny    # the CPU smoke check the test suite runs
#
# Needs genolang importable (pip install -e .) with a CUDA build of torch for the GPU rows.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
if ! "$PYTHON" -c "import genolang.runtime" 2>/dev/null; then
  echo "gpu_check: genolang is not importable by $PYTHON; run: $PYTHON -m pip install -e ." >&2
  exit 2
fi
exec "$PYTHON" bench/gpu_check.py "$@"
