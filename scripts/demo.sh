#!/usr/bin/env bash
# The main job: installs what is missing (Debian's Fashion-MNIST included), builds, and trains the
# default MLP recipe on Fashion-MNIST (about 2 minutes on 2 cores). Extra arguments go to the
# trainer (see ./build/release/examples/tapegrad-train --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target tapegrad-train
./build/release/examples/tapegrad-train --out runs/fashion-mnist "$@"
