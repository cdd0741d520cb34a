#!/bin/sh
# run_fuzz.sh [SECONDS] - builds the scenario-parser fuzz target directly with clang
# (libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer) and runs it for a bounded time
# (default 30 s) on a seed corpus made of the shipped scenarios. Skips with a message if clang
# is missing. A crash leaves its input in build-fuzz/ and makes this script fail.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-30}
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: SKIP (clang is not installed)"
  exit 0
fi
out=build-fuzz
mkdir -p "$out/corpus"
cp scenarios/*.vmcis tests/*.vmcis "$out/corpus/"
# the parser's own sources, and what `exec` lines check at parse time (word splitting, PATH
# lookup, the ELF check, which opens files through real.c)
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude -Isrc -o "$out/fuzz_scenario_parse" tests/fuzz/fuzz_scenario_parse.c \
  src/scenario/parse.c src/scenario/parse_read.c src/scenario/parse_stmt.c src/scenario/lex.c \
  src/scenario/names.c src/scenario/diag.c \
  src/exec/words.c src/exec/elfcheck.c src/posix/real.c src/sim/alloc.c
echo "fuzz: running the scenario parser for ${secs}s"
"$out/fuzz_scenario_parse" -max_total_time="$secs" -max_len=4096 -timeout=10 \
  -artifact_prefix="$out/" -print_final_stats=1 "$out/corpus" 2>"$out/fuzz.log" || {
  tail -40 "$out/fuzz.log"
  echo "fuzz: FAILED (input saved in $out/)"
  exit 1
}
grep -E "stat::number_of_executed_units|Done" "$out/fuzz.log" | tail -2
echo "fuzz: no crash in ${secs}s"
