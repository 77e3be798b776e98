#!/usr/bin/env bash
# Runs the libFuzzer targets (network JSON, IDX, checkpoint loaders) outside CI: builds them with
# clang (-fsanitize=fuzzer,address,undefined) in build/fuzz, then fuzzes each for SECONDS (default
# 600) from a copy of its seed corpus in tests/fuzz/corpus, two at a time. Prints each run's last
# status line (executions, coverage, corpus size); a crash leaves its input in build/fuzz/crashes.
#   scripts/fuzz.sh [SECONDS] [targets...]     e.g. scripts/fuzz.sh 600 network idx checkpoint
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("${@:-network idx checkpoint}")
read -r -a targets <<<"${targets[*]}"
CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_BUILD_FUZZERS=ON \
  -DTAPEGRAD_BUILD_BENCHMARKS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_MPI=OFF >/dev/null
cmake --build build/fuzz -j2 --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p build/fuzz/crashes
run() {
  local t="$1" work="build/fuzz/corpus-$1"
  rm -rf "$work" && cp -r "tests/fuzz/corpus/$t" "$work"
  "build/fuzz/tests/fuzz_$t" "$work" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
    -artifact_prefix=build/fuzz/crashes/"$t"- >"build/fuzz/$t.log" 2>&1 && status=ok || status="FAILED (see build/fuzz/$t.log)"
  echo "fuzz_$t: $status; $(grep -E '^#[0-9]+' "build/fuzz/$t.log" | tail -1)"
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  if ((i + 1 < ${#targets[@]})); then run "${targets[i + 1]}" & fi
  wait
done
