#!/usr/bin/env bash
# Builds and runs the benchmarks (median of repetitions), saving JSON under build/release/bench/
# and printing the gradient/primal and tape/reference ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target bench_scalar bench_tensor bench_seed bench_layers
out=build/release/bench
mkdir -p "$out"
reps="${REPS:-15}"
for b in bench_scalar bench_tensor bench_seed bench_layers; do
  ./build/release/benchmarks/$b --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/$b.json" --benchmark_out_format=json "$@"
done
python3 scripts/ratios.py "$out"/bench_scalar.json "$out"/bench_tensor.json "$out"/bench_seed.json "$out"/bench_layers.json
