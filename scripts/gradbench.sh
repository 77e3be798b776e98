#!/usr/bin/env bash
# Runs GradBench's evals (github.com/gradbench/gradbench) against tapegrad's tool
# (benchmarks/gradbench/) and the peers' tools GradBench ships, with GradBench's own Python evals
# deciding pass/fail, and prints a table per eval: validated, derivative / primal (medians), and each
# peer's time over ours. Writes build/release/gradbench/<eval>.json. Installs what it uses
# (scripts/deps.sh gradbench: numpy, scipy, pydantic, dataclasses-json for the evals).
#
#   scripts/gradbench.sh GRADBENCH_DIR [evals...] [tools...]
#   scripts/gradbench.sh ~/gradbench lse manual                          # one eval, ours and manual
#   EVAL_ARGS="-n 2500 40000 --min-seconds 0.5" scripts/gradbench.sh ~/gradbench lse manual
#
# GRADBENCH_DIR is a checkout of GradBench; its files are used as they are, never edited. Evals
# with a tapegrad program today: hello, lse, llsq, det, lstm, ode, gmm, kmeans, particle, saddle
# (not yet: ba, ht). Peer tools: manual (hand-written derivatives, built from GradBench's sources
# with Debian's nlohmann-json). GradBench's orchestrator is a Rust program this machine cannot
# build; scripts/gradbench_driver.py connects the evals and the tools instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ ! -d "$1/python/gradbench" ] || [ ! -d "$1/cpp/gradbench" ]; then
  echo "usage: scripts/gradbench.sh GRADBENCH_DIR [evals...] [tools...] (a checkout of github.com/gradbench/gradbench)" >&2
  exit 2
fi
gradbench=$(realpath "$1")
shift
ours=(hello lse llsq det lstm ode gmm kmeans particle saddle)
peers=(manual)
evals=()
tools=()
failed=()
for arg in "$@"; do
  if [[ " ${ours[*]} " == *" $arg "* ]]; then
    evals+=("$arg")
  elif [[ " ${peers[*]} " == *" $arg "* ]]; then
    tools+=("$arg")
  else
    echo "unknown eval or tool '$arg': evals ${ours[*]}; tools ${peers[*]}" >&2
    exit 2
  fi
done
((${#evals[@]})) || evals=("${ours[@]}")
bash scripts/deps.sh gradbench
cmake --preset release >/dev/null
cmake --build --preset release --target $(printf 'gradbench_%s ' "${evals[@]}")
out=build/release/gradbench
work=$out/work
mkdir -p "$work/include"
echo '#include <nlohmann/json.hpp>' >"$work/include/json.hpp"  # GradBench's headers include "json.hpp"
# lstm reads its text as evals/lstm/data/lstm_full.txt relative to the working directory. A checkout
# without that file (a partial copy) gets the GPL-3 text of Debian's base-files instead: ASCII, so
# 7 bits per character as in the original, and long enough for the eval's default 8,192 characters.
mkdir -p "$work/evals/lstm/data"
if [ -s "$gradbench/evals/lstm/data/lstm_full.txt" ]; then
  cp "$gradbench/evals/lstm/data/lstm_full.txt" "$work/evals/lstm/data/"
else
  [[ " ${evals[*]} " != *" lstm "* ]] ||
    echo "note: $gradbench lacks evals/lstm/data/lstm_full.txt; lstm runs on /usr/share/common-licenses/GPL-3" >&2
  cp /usr/share/common-licenses/GPL-3 "$work/evals/lstm/data/lstm_full.txt"
fi
for eval in "${evals[@]}"; do
  # The evals validate against GradBench's manual tool, run as tools/manual/bin/<eval> in $work
  # (particle and saddle have no manual program: their evals hold the expected output).
  mkdir -p "$work/tools/manual/bin"
  args=(--tool tapegrad=build/release/benchmarks/gradbench/bin)
  if [ -f "$gradbench/tools/manual/$eval.cpp" ]; then
    g++ -std=c++17 -O3 -march=native -Wno-unknown-pragmas -I"$gradbench/cpp" -I"$work/include" \
      "$gradbench/tools/manual/$eval.cpp" -o "$work/tools/manual/bin/$eval"
    for tool in "${tools[@]}"; do args+=(--tool "$tool=$work/tools/$tool/bin"); done
  fi
  # The driver exits 1 when any of tapegrad's evaluations failed; the other evals still run.
  # shellcheck disable=SC2086 # EVAL_ARGS is a list of arguments
  /usr/bin/python3 scripts/gradbench_driver.py --gradbench "$gradbench" --work "$work" --eval "$eval" \
    --json "$out/$eval.json" "${args[@]}" -- ${EVAL_ARGS:-} | tee "$out/$eval.md" || failed+=("$eval")
done
if ((${#failed[@]})); then
  echo "tapegrad failed an evaluation of: ${failed[*]}" >&2
  exit 1
fi
