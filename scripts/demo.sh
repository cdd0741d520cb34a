#!/bin/sh
# The main job: build vmcisim and run a short simulated world, printing its trace and verdict.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
./build-release/vmcisim demo "$@"
