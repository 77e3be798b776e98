#!/usr/bin/env bash
# Installs the Debian 12 packages tapegrad needs, only those missing (idempotent). Open MPI is for
# tapegrad::dist (data-parallel training) and its tests, doxygen for the API reference and its
# test; the rest builds without them.
# `deps.sh bench` adds what scripts/bench.sh uses: python3 for the tables and chart, and libtorch
# as the MLP benchmark's peer; `deps.sh ci` adds clang-format for the format check and clang, the
# second compiler CI builds the suite with; `deps.sh gradbench` adds what GradBench's Python evals
# import, and ADOL-C, Eigen (which CppAD includes) and PyTorch for the peers' tools
# (scripts/gradbench.sh).
set -euo pipefail
packages=(cmake g++ make libfmt-dev doctest-dev libbenchmark-dev libopenblas-dev libdnnl-dev nlohmann-json3-dev zlib1g-dev
  libcli11-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin doxygen)
if [ "${1:-}" = bench ]; then
  packages+=(python3 libtorch-dev)
elif [ "${1:-}" = gradbench ]; then
  packages+=(python3-numpy python3-scipy python3-pydantic python3-dataclasses-json libadolc-dev libeigen3-dev python3-torch)
elif [ "${1:-}" = ci ]; then
  packages+=(clang-format clang)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
