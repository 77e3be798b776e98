#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: a differentiated function, a small model
# trained with the tape, and gradient checks of both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target demo
./build/release/examples/demo
