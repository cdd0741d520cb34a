#!/bin/sh
# scenario_cli.sh VMCISIM SRCDIR - `vmcisim run` as a user drives it (issue 6), on scenarios
# that need no sockets: seeds on every line, exit codes 0/1/2, -j and --shard giving the same
# lines as a plain run, JSON Lines, the replay command of a failure reproducing the failure and
# its trace hash, --check-determinism (and its report of a divergence), --trace, --pcap and the
# progress line on a terminal.
set -u
bin=$1
src=$2
. "$(dirname "$0")/checks.sh"
cd "$src"
world=scenarios/world_lifecycle.vmcis
broken=tests/scenario_broken.vmcis

# --- passing sweeps: one line per seed, each with its seed and hash; exit 0
"$bin" run $world >"$tmp/all.txt"; rc=$?
check "world scenario passes over its 20 seeds (exit 0)" '[ $rc -eq 0 ]'
check "20 lines, all PASS" '[ "$(grep -c "^PASS $world seed=[0-9]* hash=[0-9a-f]\{16\} " "$tmp/all.txt")" -eq 20 ]'
check "seeds 1..20 in order" '[ "$(sed "s/.* seed=\([0-9]*\) .*/\1/" "$tmp/all.txt" | tr "\n" " ")" = "$(seq 1 20 | tr "\n" " ")" ]'
"$bin" run --seed 5 $world >"$tmp/s5a.txt"
"$bin" run --seed 5 $world >"$tmp/s5b.txt"
check "--seed 5 runs only seed 5" '[ "$(wc -l <"$tmp/s5a.txt")" -eq 1 ] && grep -q " seed=5 " "$tmp/s5a.txt"'
check "same seed, same hash across processes" 'cmp -s "$tmp/s5a.txt" "$tmp/s5b.txt"'
check "seed 5 of the sweep is the same line" 'grep -qxF "$(cat "$tmp/s5a.txt")" "$tmp/all.txt"'

# --- -j and --shard change nothing in the lines
"$bin" run --seeds 1..12 $world $broken >"$tmp/j1.txt"
"$bin" run --seeds 1..12 -j 4 $world $broken >"$tmp/j4.txt"
check "-j 4 prints the same lines in the same order as -j 1" 'cmp -s "$tmp/j1.txt" "$tmp/j4.txt"'
: >"$tmp/shards.txt"
for k in 1 2 3; do "$bin" run --seeds 1..12 --shard $k/3 -j 2 $world $broken >>"$tmp/shards.txt"; done
check "shards 1/3, 2/3, 3/3 together are the whole sweep" \
  '[ "$(sort "$tmp/j1.txt")" = "$(sort "$tmp/shards.txt")" ]'
: >"$tmp/shard1.txt"
for k in 1 2 3 4 5; do "$bin" run --shard $k/5 $world >>"$tmp/shard1.txt"; done
check "shards of one file, in order, are the sweep line for line" 'cmp -s "$tmp/all.txt" "$tmp/shard1.txt"'
check "shard 2/5 of seeds 1..20 is seeds 5..8" \
  '[ "$("$bin" run --shard 2/5 $world | sed "s/.* seed=\([0-9]*\) .*/\1/" | tr "\n" " ")" = "5 6 7 8 " ]'
"$bin" run --seed 1 --shard 1/2 $world >"$tmp/empty.txt" 2>"$tmp/empty.err"; rc=$?
check "a shard with no seeds runs nothing and exits 0" '[ $rc -eq 0 ] && [ ! -s "$tmp/empty.txt" ]'

# --- JSON Lines
"$bin" run --json --seeds 3..4 $world $broken >"$tmp/json.txt"; rc=$?
check "--json: exit 1 with a failing file" '[ $rc -eq 1 ]'
check "--json: one object per line with result, seed and hash" \
  '[ "$(grep -c "^{\"result\":\"\(pass\|fail\)\",\"file\":\"[^\"]*\",\"seed\":[0-9]*,\"hash\":\"[0-9a-f]\{16\}\"" "$tmp/json.txt")" -eq 4 ]'
check "--json: a failure has its line, expected, got and replay" \
  'grep -q "\"result\":\"fail\".*\"line\":12,.*\"expected\":\"success\",\"got\":\"EINVAL\".*\"replay\":\".* run --seed 3 --sched random --expect-hash [0-9a-f]* tests/scenario_broken.vmcis\"" "$tmp/json.txt"'
if command -v python3 >/dev/null 2>&1; then
  check "--json: every line is valid JSON" 'python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$tmp/json.txt"'
fi

# --- a failure: file:line, expected, got, seed, hash, and a replay that reproduces it
"$bin" run --seed 8 $broken >"$tmp/fail.txt"; rc=$?
check "broken scenario: exit 1" '[ $rc -eq 1 ]'
check "FAIL line names file:line, expected, got and the seed" \
  'grep -q "^FAIL $broken seed=8 hash=[0-9a-f]\{16\} sched=random $broken:12: expected success, got EINVAL (suspend in operator) | replay: " "$tmp/fail.txt"'
replay=$(sed -n "s/.* | replay: //p" "$tmp/fail.txt")
hash=$(sed -n "s/.* hash=\([0-9a-f]*\) .*/\1/p" "$tmp/fail.txt")
check "the replay command carries the seed and the trace hash" \
  'echo "$replay" | grep -q -- "run --seed 8 --sched random --expect-hash $hash tests/scenario_broken.vmcis$"'
sh -c "$replay" >"$tmp/replay.txt"; rc=$?
check "the replay fails the same way with the same trace hash" '[ $rc -eq 1 ] && cmp -s "$tmp/fail.txt" "$tmp/replay.txt"'
"$bin" run --seed 8 --expect-hash 0123456789abcdef $broken >"$tmp/wrong.txt"
check "a replay whose trace hash differs says so" \
  'grep -q "expected trace hash 0123456789abcdef, got $hash" "$tmp/wrong.txt"'
"$bin" run --seed 5 --expect-hash 0123456789abcdef $world >"$tmp/wrong2.txt"; rc=$?
check "a passing run with another hash fails (exit 1)" \
  '[ $rc -eq 1 ] && grep -q "^FAIL .*expected trace hash 0123456789abcdef" "$tmp/wrong2.txt"'
"$bin" run --seeds 7..9 $world $broken >"$tmp/mixed.txt"; rc=$?
check "PASS and FAIL lines together: exit 1, seed on every line" \
  '[ $rc -eq 1 ] && [ "$(grep -c " seed=[789] " "$tmp/mixed.txt")" -eq 6 ]'

# --- the end of a sweep: a summary on stderr, failures listed with their replay lines
"$bin" run --seeds 1..4 $world $broken >"$tmp/o.txt" 2>"$tmp/sum.txt"; rc=$?
check "a sweep ends with its counts and rate on stderr" \
  '[ $rc -eq 1 ] && grep -q "^== 8 runs: 4 passed, 4 failed in [0-9.]* s ([0-9.]* runs/s)$" "$tmp/sum.txt"'
check "... per file" \
  'grep -q "^   $world: 4 runs, 0 failed$" "$tmp/sum.txt" && grep -q "^   $broken: 4 runs, 4 failed$" "$tmp/sum.txt"'
check "... and each failing seed with the command that replays it" \
  '[ "$(grep -c "^   $broken seed=[1-4]: " "$tmp/sum.txt")" -eq 4 ] && [ "$(grep -c "^     replay: .* run --seed [1-4] \(--sched [a-z0-9:]* \)\{0,1\}--expect-hash [0-9a-f]\{16\} $broken$" "$tmp/sum.txt")" -eq 4 ]'
check "stdout keeps one result per line" '[ "$(wc -l <"$tmp/o.txt")" -eq 8 ]'
"$bin" run --failures-only --seeds 1..4 -j 2 $world $broken >"$tmp/o.txt" 2>/dev/null; rc=$?
check "--failures-only prints FAIL lines only" \
  '[ $rc -eq 1 ] && [ "$(grep -c "^FAIL $broken seed=" "$tmp/o.txt")" -eq 4 ] && ! grep -q "^PASS" "$tmp/o.txt"'
# (the interrupt is sent once results flow, i.e. once the handler is in place: a background
# job of a script starts with SIGINT ignored until then)
interrupt_when_running() {
  for _ in $(seq 1 300); do [ -s "$tmp/int.txt" ] && break; sleep 0.1; done
  kill -INT $1; wait $1
}
"$bin" run --seeds 1..200000 $world >"$tmp/int.txt" 2>"$tmp/int.err" & pid=$!
interrupt_when_running $pid; rc=$?
check "Ctrl-C ends a sweep with exit 130 and the summary so far" \
  '[ $rc -eq 130 ] && grep -q "^== [0-9]* runs: [0-9]* passed, 0 failed in .*; interrupted, [0-9]* of 200000 not run$" "$tmp/int.err" && [ "$(wc -l <"$tmp/int.txt")" -ge 1 ]'
: >"$tmp/int.txt"
"$bin" run --seeds 1..200000 -j 2 $world >"$tmp/int.txt" 2>"$tmp/int.err" & pid=$!
interrupt_when_running $pid; rc=$?
check "... also with -j 2" '[ $rc -eq 130 ] && grep -q "interrupted, [0-9]* of 200000 not run$" "$tmp/int.err"'

# --- vmcisim report: shards' JSON Lines merged into one summary
for k in 1 2 3; do "$bin" run --json --seeds 1..6 --shard $k/3 $world $broken >"$tmp/shard$k.jsonl" 2>/dev/null; done
"$bin" report "$tmp/shard1.jsonl" "$tmp/shard2.jsonl" "$tmp/shard3.jsonl" >"$tmp/rep.txt"; rc=$?
check "report merges three shards: exit 1, the counts of the whole sweep" \
  '[ $rc -eq 1 ] && grep -q "^== 12 runs: 6 passed, 6 failed$" "$tmp/rep.txt" && [ "$(grep -c "^     replay: " "$tmp/rep.txt")" -eq 6 ]'
cat "$tmp/shard1.jsonl" "$tmp/shard2.jsonl" "$tmp/shard3.jsonl" | "$bin" report >"$tmp/rep2.txt"; rc=$?
check "... the same from stdin" '[ $rc -eq 1 ] && cmp -s "$tmp/rep.txt" "$tmp/rep2.txt"'
"$bin" run --json --seeds 1..3 $world >"$tmp/pass.jsonl" 2>/dev/null
"$bin" report "$tmp/pass.jsonl" "$tmp/pass.jsonl" >"$tmp/rep.txt"; rc=$?
check "a shard read twice is counted once: exit 0" \
  '[ $rc -eq 0 ] && grep -q "^== 3 runs: 3 passed, 0 failed$" "$tmp/rep.txt" && grep -q "^== 3 duplicate results merged (0 disagreeing)$" "$tmp/rep.txt"'
sed "s/\"hash\":\"[0-9a-f]*\"/\"hash\":\"00000000000000ff\"/" "$tmp/pass.jsonl" >"$tmp/other.jsonl"
"$bin" report "$tmp/pass.jsonl" "$tmp/other.jsonl" >"$tmp/rep.txt" 2>"$tmp/rep.err"; rc=$?
check "the same seed with two hashes is a failure" \
  '[ $rc -eq 1 ] && grep -q "^== 3 runs: 0 passed, 3 failed$" "$tmp/rep.txt" && grep -q "seed=1 ran twice with trace hashes [0-9a-f]* and 00000000000000ff" "$tmp/rep.err"'
printf "not json\n" >"$tmp/junk.jsonl"
"$bin" report "$tmp/junk.jsonl" >/dev/null 2>"$tmp/rep.err"; rc=$?
check "report: a line that is not a result is bad input (exit 2, file:line:col)" \
  '[ $rc -eq 2 ] && grep -q "^$tmp/junk.jsonl:1:1: expected a result line of .vmcisim run --json.$" "$tmp/rep.err"'

# --- --trace-filter: what the readable trace shows, never what is hashed
susp="$src/scenarios/suspend_resume.vmcis"
"$bin" run --seed 3 --trace "$tmp/tf-all.txt" $susp >"$tmp/tf-all.out"
"$bin" run --seed 3 --trace "$tmp/tf.txt" --trace-filter vm=guest,-event=sched $susp >"$tmp/tf.out"
check "--trace-filter vm=guest,-event=sched: only the guest's records, no sched records" \
  '[ -s "$tmp/tf.txt" ] && ! grep -qv "^[0-9.]* guest/[0-9]* " "$tmp/tf.txt" && ! grep -q "^[^ ]* [^ ]* [^ ]* sched " "$tmp/tf.txt" && grep -q "^[^ ]* guest/[0-9]* [^ ]* sched " "$tmp/tf-all.txt"'
check "... the same records as the whole trace has for them, and the same hash" \
  '[ "$(grep "^[0-9.]* guest/[0-9]* " "$tmp/tf-all.txt" | grep -v "^[^ ]* [^ ]* [^ ]* sched " | md5sum)" = "$(md5sum <"$tmp/tf.txt")" ] && [ "$(sed "s/.* hash=\([0-9a-f]*\) .*/\1/" "$tmp/tf.out")" = "$(sed "s/.* hash=\([0-9a-f]*\) .*/\1/" "$tmp/tf-all.out")" ]'
"$bin" run --seed 3 --trace "$tmp/tf2.txt" --trace-filter event=pkt-send,event=pkt-recv $susp >/dev/null
check "event= terms are alternatives" \
  '[ -s "$tmp/tf2.txt" ] && ! grep -qv "^[^ ]* [^ ]* [^ ]* pkt-\(send\|recv\) " "$tmp/tf2.txt"'
"$bin" run --trace-filter bogus $susp >/dev/null 2>"$tmp/e.txt"; rc=$?
check "a filter that does not parse is bad input (exit 2)" \
  '[ $rc -eq 2 ] && grep -q "^vmcisim run: --trace-filter expects" "$tmp/e.txt"'

# --- bad input: exit 2 and a message, nothing run
printf 'vm g\nprocess p on g\n  sleep 5\nend\n' >"$tmp/parse.vmcis"
"$bin" run $world "$tmp/parse.vmcis" >"$tmp/o.txt" 2>"$tmp/e.txt"; rc=$?
check "parse error: exit 2, file:line:col: expected ..., nothing run" \
  '[ $rc -eq 2 ] && grep -q "^$tmp/parse.vmcis:3:9: expected a time to sleep with a unit (ns, us, ms or s), got .5.$" "$tmp/e.txt" && [ ! -s "$tmp/o.txt" ]'
check "... then the source line with a caret under the column" \
  '[ "$(sed -n 2p "$tmp/e.txt")" = "      sleep 5" ] && [ "$(sed -n 3p "$tmp/e.txt")" = "            ^" ]'
printf 'vm g\nprocess p on g\n  s = socket stream\n  lisen s 5\nend\n' >"$tmp/typo.vmcis"
"$bin" run "$tmp/typo.vmcis" >/dev/null 2>"$tmp/e.txt"; rc=$?
check "a near-miss keyword: exit 2 and did you mean 'listen'" \
  '[ $rc -eq 2 ] && head -1 "$tmp/e.txt" | grep -q "^$tmp/typo.vmcis:4:3: expected a statement (socket, .*, ft-off), got .lisen.; did you mean .listen.?$"'
"$bin" run --json "$tmp/typo.vmcis" >"$tmp/o.txt" 2>/dev/null; rc=$?
check "--json reports a parse error as a JSON line" \
  '[ $rc -eq 2 ] && grep -q "^{\"status\":\"ERROR\",\"error\":\"parse\",\"file\":\"$tmp/typo.vmcis\",\"line\":4,\"col\":3,\"message\":\".*did you mean .listen.?\"}$" "$tmp/o.txt"'
"$bin" run --seedz 3 $world >/dev/null 2>"$tmp/e.txt"; rc=$?
check "a near-miss flag: exit 2, did you mean, and the valid flags" \
  '[ $rc -eq 2 ] && grep -q "^vmcisim run: unknown option .--seedz.; did you mean .--seed.?$" "$tmp/e.txt" && grep -q "^valid options: --seed --seeds " "$tmp/e.txt"'
"$bin" run --pcap "$tmp/no/such/dir/c.pcap" $world >"$tmp/o.txt" 2>"$tmp/e.txt"; rc=$?
check "an unwritable --pcap path is bad input: exit 2, nothing run" \
  '[ $rc -eq 2 ] && [ ! -s "$tmp/o.txt" ] && grep -q "^vmcisim run: --pcap .*cannot be written: " "$tmp/e.txt"'
"$bin" run --trace "$tmp" $world >"$tmp/o.txt" 2>"$tmp/e.txt"; rc=$?
check "a folder as --trace is bad input: exit 2" '[ $rc -eq 2 ] && [ ! -s "$tmp/o.txt" ]'
"$bin" run /nonexistent.vmcis >/dev/null 2>"$tmp/e.txt"; rc=$?
check "unreadable file: exit 2" '[ $rc -eq 2 ] && grep -q "^/nonexistent.vmcis: cannot read: " "$tmp/e.txt"'
for flags in "--bogus" "--seed x" "--seeds 5..2" "--shard 0/2" "--shard 3/2" "-j 0" "--trace" ""; do
  "$bin" run $flags $( [ -n "$flags" ] && echo $world ) >/dev/null 2>&1; rc=$?
  check "bad flags '$flags': exit 2" '[ $rc -eq 2 ]'
done
# (a realtime run's timing checks may fail on a loaded machine: only the line's form is checked)
"$bin" run --realtime --seeds 1..2 $world >"$tmp/rt.txt" 2>/dev/null
check "realtime lines carry no hash of an empty trace" \
  '[ "$(grep -Ec "^(PASS|FAIL) $world seed=[12] mode=realtime " "$tmp/rt.txt")" -eq 2 ] && ! grep -q "hash=" "$tmp/rt.txt"'
"$bin" run --realtime --json --seed 1 $world >"$tmp/rt.json" 2>/dev/null
check "... and null in JSON" 'grep -q "\"seed\":1,\"hash\":null," "$tmp/rt.json"'
"$bin" run --check-determinism --realtime $world >/dev/null 2>&1; rc=$?
check "--check-determinism with --realtime: exit 2" '[ $rc -eq 2 ]'

# --- determinism check
"$bin" run --check-determinism --seeds 1..5 -j 2 $world >"$tmp/det.txt"; rc=$?
check "--check-determinism passes on a deterministic scenario" '[ $rc -eq 0 ] && [ "$(grep -c ^PASS "$tmp/det.txt")" -eq 5 ]'

# --- trace and capture files
"$bin" run --seed 4 --trace "$tmp/t.txt" --pcap "$tmp/c.pcap" $world >"$tmp/o.txt"
records=$(sed -n "s/.* records=\([0-9]*\) .*/\1/p" "$tmp/o.txt")
check "--trace writes the readable trace (as many records as reported)" \
  '[ "$(wc -l <"$tmp/t.txt")" -eq "$records" ] && head -1 "$tmp/t.txt" | grep -q "world seed=4 mode=deterministic"'
check "--pcap writes a LINKTYPE_VSOCK capture (header only: no sockets here)" \
  '[ "$(wc -c <"$tmp/c.pcap")" -eq 24 ] && [ "$(od -An -tx1 -j20 -N4 "$tmp/c.pcap" | tr -d " ")" = "0f010000" ]'
"$bin" run --seeds 1..2 --trace "$tmp/many.txt" $world >/dev/null
check "several runs: one trace per run, named after scenario and seed" \
  '[ -s "$tmp/many.world_lifecycle.1.txt" ] && [ -s "$tmp/many.world_lifecycle.2.txt" ]'
"$bin" run --check-determinism --seed 6 --trace "$tmp/d.txt" $world >/dev/null
check "--check-determinism keeps the first run's trace for --trace" 'head -1 "$tmp/d.txt" | grep -q "world seed=6"'

# --- progress line only on a terminal, and only for sweeps longer than a second
check "no progress line when stdout is not a terminal" '! grep -q "$(printf "\r")" "$tmp/all.txt"'
if command -v script >/dev/null 2>&1; then
  script -qec "$bin run --seeds 1..1500 -j 2 $world" /dev/null >"$tmp/tty.txt" 2>&1
  check "a long sweep on a terminal shows [done/total] progress" 'grep -q "\[[0-9]*/1500\] 0 failed, " "$tmp/tty.txt"'
  check "... with an ETA" 'grep -q "\[[0-9]*/1500\] 0 failed, [0-9.]*s, ETA [0-9]*[ms]" "$tmp/tty.txt"'
  check "... and still prints every result line" '[ "$(grep -c "PASS $world" "$tmp/tty.txt")" -eq 1500 ]'
fi

echo "$fails failed"
[ $fails -eq 0 ]
