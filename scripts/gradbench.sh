#!/usr/bin/env bash
# Runs GradBench's evals (github.com/gradbench/gradbench) against tapegrad's tool
# (benchmarks/gradbench/) and the peers' tools GradBench ships, with GradBench's own Python evals
# deciding pass/fail, and prints a table per eval: validated, derivative / primal (medians), and each
# peer's time over ours. Writes build/release/gradbench/<eval>.json and .md, and summary.svg (a
# chart of every eval run, scripts/gradbench_chart.py). Installs what it uses (scripts/deps.sh
# gradbench: numpy, scipy, pydantic, dataclasses-json for the evals; ADOL-C, Eigen and PyTorch for
# the peers' tools).
#
#   scripts/gradbench.sh GRADBENCH_DIR [evals...] [tools...]
#   scripts/gradbench.sh ~/gradbench lse manual                          # one eval, ours and manual
#   EVAL_ARGS="-n 2500 40000 --min-seconds 0.5" scripts/gradbench.sh ~/gradbench lse manual
#   CODIPACK_DIR=~/CoDiPack ADEPT_DIR=~/Adept-2 CPPAD_DIR=~/CppAD \
#     scripts/gradbench.sh ~/gradbench gmm manual codipack adept cppad adol-c pytorch
#
# GRADBENCH_DIR is a checkout of GradBench; its files are used as they are, never edited. Evals
# with a tapegrad program: all twelve (hello, lse, llsq, det, lstm, ode, gmm, ba, ht, kmeans,
# particle, saddle; particle and saddle in all four nestings). Peer tools, each built from GradBench's tools/<tool>/<eval>.cpp as its
# Makefile does (an eval the tool has no program for is skipped for it):
#   manual    hand-written derivatives (always built: the evals validate against it);
#   adol-c    Debian's libadolc-dev;
#   codipack  CODIPACK_DIR, a CoDiPack checkout (git clone https://github.com/SciCompKL/CoDiPack);
#   adept     ADEPT_DIR, an Adept-2 checkout (git clone https://github.com/rjhogan/Adept-2): its
#             library is compiled here from adept/*.cpp;
#   cppad     CPPAD_DIR, a CppAD checkout (git clone https://github.com/coin-or/CppAD): configured
#             with its CMake (which writes include/cppad/configure.hpp there) and cppad_lib built;
#   pytorch   GradBench's Python tool, on Debian's python3-torch (PyTorch 1.13).
# GradBench's headers include "json.hpp": Debian's nlohmann-json is given under that name.
# GradBench's orchestrator is a Rust program this machine cannot build;
# scripts/gradbench_driver.py connects the evals and the tools instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ ! -d "$1/python/gradbench" ] || [ ! -d "$1/cpp/gradbench" ]; then
  echo "usage: scripts/gradbench.sh GRADBENCH_DIR [evals...] [tools...] (a checkout of github.com/gradbench/gradbench)" >&2
  exit 2
fi
gradbench=$(realpath "$1")
shift
ours=(hello lse llsq det lstm ode gmm ba ht kmeans particle saddle)
peers=(manual adol-c codipack adept cppad pytorch)
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
# Our tool, built against the checkout: its protocol (cpp/gradbench/main.hpp) and primals
# (evals/*.hpp), the denominator every C++ tool has (benchmarks/gradbench/tool.hpp), in a build
# folder of its own so that build/release stays the self-contained build the tests use.
tool_build=build/gradbench-tool
cmake --preset release -B "$tool_build" -DTAPEGRAD_GRADBENCH_DIR="$gradbench" >/dev/null
targets=()
for eval in "${evals[@]}"; do targets+=("gradbench_$eval"); done
cmake --build "$tool_build" -j"$(nproc)" --target "${targets[@]}"
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
# Each peer's library, once: where it is, and the flags its tools compile with.
declare -A peer_flags
for tool in "${tools[@]}"; do
  case $tool in
    manual | pytorch) peer_flags[$tool]="" ;;
    adol-c) peer_flags[$tool]="-ladolc" ;;
    codipack)
      [ -f "${CODIPACK_DIR:-}/include/codi.hpp" ] ||
        { echo "codipack: set CODIPACK_DIR to a CoDiPack checkout (git clone https://github.com/SciCompKL/CoDiPack)" >&2; exit 2; }
      peer_flags[$tool]="-I$(realpath "$CODIPACK_DIR")/include -DCODI_ForcedInlines=1" ;;
    adept)
      [ -f "${ADEPT_DIR:-}/include/adept.h" ] ||
        { echo "adept: set ADEPT_DIR to an Adept-2 checkout (git clone https://github.com/rjhogan/Adept-2)" >&2; exit 2; }
      mkdir -p "$work/adept"
      for src in Stack StackStorageOrig settings jacobian Array Storage index; do
        g++ -std=c++17 -O3 -march=native -w -I"$ADEPT_DIR/include" -c "$ADEPT_DIR/adept/$src.cpp" -o "$work/adept/$src.o"
      done
      ar rcs "$work/adept/libadept.a" "$work/adept"/*.o
      peer_flags[$tool]="-I$(realpath "$ADEPT_DIR")/include $(realpath "$work")/adept/libadept.a" ;;
    cppad)
      [ -f "${CPPAD_DIR:-}/include/cppad/cppad.hpp" ] ||
        { echo "cppad: set CPPAD_DIR to a CppAD checkout (git clone https://github.com/coin-or/CppAD)" >&2; exit 2; }
      cmake -S "$CPPAD_DIR" -B "$work/cppad-build" -DCMAKE_BUILD_TYPE=Release >/dev/null
      cmake --build "$work/cppad-build" --target cppad_lib -j"$(nproc)" >/dev/null
      lib=$(realpath "$work/cppad-build/cppad_lib")
      # CppAD's configure finds Debian's Eigen (libeigen3-dev), and its headers then include it.
      peer_flags[$tool]="-I$(realpath "$CPPAD_DIR")/include -I/usr/include/eigen3 -L$lib -lcppad_lib -Wl,-rpath,$lib" ;;
  esac
done
# build_tool TOOL EVAL: GradBench's tools/TOOL/EVAL.cpp as $work/tools/TOOL/bin/EVAL; status 1, with
# the reason, when the tool has no program for the eval or it does not build.
build_tool() {
  if [ ! -f "$gradbench/tools/$1/$2.cpp" ]; then
    echo "note: GradBench's $1 tool has no $2 program" >&2
    return 1
  fi
  mkdir -p "$work/tools/$1/bin"
  # shellcheck disable=SC2086 # the flags are a list
  g++ -std=c++17 -O3 -march=native -Wno-unknown-pragmas -w -I"$gradbench/cpp" -I"$work/include" \
    "$gradbench/tools/$1/$2.cpp" -o "$work/tools/$1/bin/$2" ${peer_flags[$1]:-} -lm ||
    { echo "note: GradBench's $1 tool's $2 program did not build; it is left out" >&2; return 1; }
}
for eval in "${evals[@]}"; do
  # The evals read their data files (ba's, ht's) as evals/<eval>/data in the working directory.
  if [ "$eval" != lstm ] && [ -d "$gradbench/evals/$eval/data" ]; then
    mkdir -p "$work/evals/$eval"
    ln -sfn "$gradbench/evals/$eval/data" "$work/evals/$eval/data"
  fi
  # The evals validate against GradBench's manual tool, run as tools/manual/bin/<eval> in $work
  # (particle and saddle have none: their evals hold the expected output).
  build_tool manual "$eval" 2>/dev/null || true
  args=(--tool "tapegrad=$tool_build/benchmarks/gradbench/bin")
  for tool in "${tools[@]}"; do
    if [ "$tool" = pytorch ]; then  # GradBench's Python tool, which speaks the protocol itself
      pytorch="$gradbench/python/gradbench/gradbench/tools/pytorch"
      if [ -f "$pytorch/$eval.py" ]; then
        args+=(--tool "pytorch=cmd:/usr/bin/python3 $pytorch/run.py")
      else
        echo "note: GradBench's pytorch tool has no $eval module" >&2
      fi
    elif build_tool "$tool" "$eval"; then
      args+=(--tool "$tool=$work/tools/$tool/bin")
    fi
  done
  read -ra eval_args <<<"${EVAL_ARGS:-}"
  if [ "$eval" = ht ] && [[ " ${EVAL_ARGS:-} " != *" --max "* ]] &&
    ! compgen -G "$gradbench/evals/ht/data/complicated_big/hand12_*" >/dev/null; then
    echo "note: $gradbench lacks ht's hand12 data; ht runs with --max 11" >&2
    eval_args+=(--max 11)
  fi
  # The driver exits 1 when any of tapegrad's evaluations failed; the other evals still run.
  /usr/bin/python3 scripts/gradbench_driver.py --gradbench "$gradbench" --work "$work" --eval "$eval" \
    --json "$out/$eval.json" "${args[@]}" -- "${eval_args[@]}" | tee "$out/$eval.md" || failed+=("$eval")
done
/usr/bin/python3 scripts/gradbench_chart.py "$out"
if ((${#failed[@]})); then
  echo "tapegrad failed an evaluation of: ${failed[*]}" >&2
  exit 1
fi
