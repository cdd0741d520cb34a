#!/bin/sh
# The whole test suite: a warnings-as-errors release build with every test, the same under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the realtime-mode tests under
# ThreadSanitizer. Set VMCISIM_QUICK=1 to run only the first build, VMCISIM_FUZZ_SECONDS=N to
# fuzz the scenario parser for N seconds at the end (CI sets 30).
set -eu
cd "$(dirname "$0")/.."
VMCISIM_SETUP_TEST_TOOLS=1 sh scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

build_and_test() {
  dir=$1; shift
  cmake -S . -B "$dir" -DVMCISIM_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
}

echo "== release build"
build_and_test build -DCMAKE_BUILD_TYPE=Release
(cd build && ctest --output-on-failure -j"$jobs")
[ "${VMCISIM_QUICK:-0}" = 1 ] && exit 0

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
build_and_test build-asan -DCMAKE_BUILD_TYPE=Debug -DVMCISIM_SANITIZE=address,undefined
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== ThreadSanitizer (realtime-mode tests)"
build_and_test build-tsan -DCMAKE_BUILD_TYPE=Debug -DVMCISIM_SANITIZE=thread
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  CK_RUN_CASE=realtime ctest --output-on-failure -j"$jobs" -L realtime)

# The long stage is behind a switch that CI sets (.ci/run): VMCISIM_FUZZ_SECONDS=30.
fuzz=${VMCISIM_FUZZ_SECONDS:-0}
if [ "$fuzz" -gt 0 ]; then
  echo "== fuzz: the scenario parser for ${fuzz} s (libFuzzer; skipped without clang)"
  sh tests/fuzz/run_fuzz.sh "$fuzz"
else
  echo "== fuzz: skipped (set VMCISIM_FUZZ_SECONDS=30 to run it, as CI does)"
fi
