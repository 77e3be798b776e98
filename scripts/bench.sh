#!/usr/bin/env bash
# Builds and runs the benchmarks, then prints the ratio tables (medians and spread) and writes
# build/release/bench/{*.json,tables.md,ratios.svg}. Works on a fresh Debian 12 machine: it installs
# what it uses (scripts/deps.sh bench: python3, libtorch-dev as a peer).
#
#   scripts/bench.sh                                  # everything, REPS=5 repetitions each
#   scripts/bench.sh --benchmark_filter='w256/d3'     # any Google Benchmark filter
#   ADEPT_DIR=~/Adept-2 CODIPACK_DIR=~/CoDiPack scripts/bench.sh   # scalar peers, from their sources
#   PROGRAMS="bench_mlp" THREADS="1 2" scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh bench
cmake --preset release -DTAPEGRAD_ADEPT_DIR="${ADEPT_DIR:-}" -DTAPEGRAD_CODIPACK_DIR="${CODIPACK_DIR:-}" >/dev/null
programs=(${PROGRAMS:-bench_scalar bench_tensor bench_seed bench_layers bench_mlp bench_epoch bench_hvp bench_conv})
cmake --build --preset release --target "${programs[@]}"
out=build/release/bench
mkdir -p "$out"
rm -f "$out"/*.json
reps="${REPS:-5}"
run() {  # run <program> <json> [args...]
  local program=$1 json=$2
  shift 2
  ./build/release/benchmarks/"$program" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_out="$json" --benchmark_out_format=json "$@"
}
for p in "${programs[@]}"; do
  if [ "$p" = bench_mlp ] || [ "$p" = bench_epoch ]; then
    for t in ${THREADS:-1 2}; do run "$p" "$out/${p}_t$t.json" --threads="$t" "$@"; done
  else
    run "$p" "$out/$p.json" "$@"
  fi
done
python3 scripts/ratios.py --svg "$out/ratios.svg" "$out"/*.json | tee "$out/tables.md"
echo "wrote $out/tables.md and $out/ratios.svg"
