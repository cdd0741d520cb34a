#!/bin/sh
# exec_c.sh VMCISIM ECHO_PROG SRCDIR GAPS_PROG - `exec` of an unmodified C program (vsock_echo.c):
# deterministic over 20 seeds (each run twice: the same trace), the same hash and the same
# program output from two `vmcisim run` processes, exit statuses as counters, stdout/stderr
# kept with --artifacts and named in a FAIL line, a temporary artifacts directory removed on
# pass, a program that cannot be found refused before the run (exit status 2), and power-off
# and suspend reaching the program (in realtime mode also one that never calls the world);
# /dev/urandom from the world's stream (read, and through stdio) and EFAULT for bad pointers
# (exec_gaps.c).
set -u
bin=$1
prog=$2
src=$3
gaps=$4
. "$(dirname "$0")/../checks.sh"
sed "s#@VSOCK_ECHO@#$prog#g" "$src/tests/exec/c_echo.vmcis.in" >"$tmp/c_echo.vmcis"

"$bin" run --seeds 1..20 --check-determinism "$tmp/c_echo.vmcis" >"$tmp/det.txt"; rc=$?
check "20 seeds pass, each run twice with the same trace (exit 0)" '[ $rc -eq 0 ]'
check "20 PASS lines" '[ "$(grep -c "^PASS .* hash=[0-9a-f]\{16\} " "$tmp/det.txt")" -eq 20 ]'

TMPDIR=$tmp "$bin" run --seed 7 "$tmp/c_echo.vmcis" >"$tmp/a.txt"
"$bin" run --seed 7 --artifacts "$tmp/artA" "$tmp/c_echo.vmcis" >"$tmp/a2.txt"
"$bin" run --seed 7 --artifacts "$tmp/artB" "$tmp/c_echo.vmcis" >"$tmp/b.txt"
check "same seed, same line (hash) from separate processes" \
  'cmp -s "$tmp/a.txt" "$tmp/b.txt" && cmp -s "$tmp/a.txt" "$tmp/a2.txt"'
# the bytes staged through the area instead of copied by the world: the same calls, the same trace
VMCISIM_EXEC_STAGING=1 "$bin" run --seed 7 "$tmp/c_echo.vmcis" >"$tmp/s7.txt"
check "staged payload, same seed: the same line (hash) as direct copies" 'cmp -s "$tmp/a.txt" "$tmp/s7.txt"'
check "a passing run leaves no temporary artifacts" '[ -z "$(ls "$tmp" | grep vmcisim-exec)" ]'
d=$tmp/artA/c_echo.vmcis.seed7
check "stdout of each program kept under --artifacts" \
  '[ -f $d/srv.stdout ] && [ -f $d/cli.stdout ] && [ -f $d/seven.stdout ] && [ -f $d/cli.stderr ]'
check "the same program output with the same seed (time and rand from the world)" \
  'cmp -s $d/cli.stdout "$tmp/artB/c_echo.vmcis.seed7/cli.stdout"'
# vsock_echo prints the echo, its CID (guest: 3), the simulated time of a 2.5 ms usleep
check "client saw its echo, its CID and simulated time" \
  'grep -qx "echo ok: HELLO FROM AN UNMODIFIED PROGRAM" $d/cli.stdout &&
   grep -qx "my cid=3" $d/cli.stdout && grep -qx "elapsed_ns=2500000" $d/cli.stdout'
check "server saw the guest (cid 3) and EOF after 32 bytes" \
  'grep -qx "accepted cid=3 len=16" $d/srv.stdout && grep -qx "echoed 32 bytes, eof" $d/srv.stdout'
"$bin" run --seed 8 --artifacts "$tmp/artC" "$tmp/c_echo.vmcis" >/dev/null
check "another seed draws other random numbers" \
  '! cmp -s "$tmp/artC/c_echo.vmcis.seed8/cli.stdout" $d/cli.stdout'

"$bin" run --seed 1 --trace "$tmp/c1.trace" "$tmp/c_echo.vmcis" >/dev/null
check "the trace records the SIGPIPE with its default action, as for an in-process program" \
  'grep -q " piped signal pid=[0-9]* sig=SIGPIPE action=default$" "$tmp/c1.trace"'
check "the trace records each program's start and end with its status" \
  'grep -q " exec pid=[0-9]* argv0=$prog$" "$tmp/c1.trace" &&
   grep -q " crash exec-end pid=[0-9]* status=139 requests=[0-9]*$" "$tmp/c1.trace"'

# a failing check: the FAIL line names the directory of the programs' output
sed 's/seven.status == 7/seven.status == 8/' "$tmp/c_echo.vmcis" >"$tmp/fail.vmcis"
TMPDIR=$tmp "$bin" run --seed 1 "$tmp/fail.vmcis" >"$tmp/f.txt"; rc=$?
check "a failed check fails the run (exit 1)" '[ $rc -eq 1 ]'
check "the FAIL line names where the output is" \
  'grep -q "^FAIL .*programs. stdout/stderr: $tmp/vmcisim-exec-[0-9]*-fail.vmcis.seed1/" "$tmp/f.txt"'
check "and it is there" '[ -f "$(ls -d $tmp/vmcisim-exec-*-fail.vmcis.seed1)/seven.stdout" ]'

# refused before the run: a program that does not exist
printf 'scenario "x"\nexec p on host "/nonexistent/prog a b"\n' >"$tmp/missing.vmcis"
"$bin" run --seed 1 "$tmp/missing.vmcis" >"$tmp/m.txt" 2>&1; rc=$?
check "a missing program is a scenario error (exit 2)" '[ $rc -eq 2 ]'
check "with a clear message" 'grep -q "missing.vmcis:2:.*expected a program ./nonexistent/prog. that exists" "$tmp/m.txt"'
printf 'scenario "x"\nexec p on host "prog \x27unclosed"\n' >"$tmp/quote.vmcis"
"$bin" run --seed 1 "$tmp/quote.vmcis" >"$tmp/q.txt" 2>&1; rc=$?
check "an unclosed quote in the command line: exit 2" '[ $rc -eq 2 ] && grep -q "closing" "$tmp/q.txt"'

# lifecycle faults: power-off kills the program (128+9, the child is gone), suspend stops it
sed "s#@VSOCK_ECHO@#$prog#g" "$src/tests/exec/lifecycle.vmcis.in" >"$tmp/life.vmcis"
"$bin" run --seeds 1..20 -j 2 --check-determinism "$tmp/life.vmcis" >"$tmp/life.txt"; rc=$?
check "power-off/suspend: 20 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/life.txt")" -eq 20 ]'
"$bin" run --seed 4 --artifacts "$tmp/life" "$tmp/life.vmcis" >/dev/null
l=$tmp/life/life.vmcis.seed4
vpid=$(sed -n 's/^pid //p' $l/victim.stdout)
check "the powered-off program's process is gone" '[ -n "$vpid" ] && ! kill -0 "$vpid" 2>/dev/null'
check "it ran 3 rounds before the power-off at 3.5 ms" '[ "$(grep -c "^round" $l/victim.stdout)" -eq 3 ]'
check "the suspended program's sleep from 2 ms took until the resume at 12.5 ms" \
  '[ "$(sed -n "s/^round 2 took //p" $l/napper.stdout)" = "10500 us" ] &&
   [ "$(grep -c "took 1000 us" $l/napper.stdout)" -eq 4 ]'
"$bin" run --realtime --seed 1 "$tmp/life.vmcis" >"$tmp/lifert.txt"; rc=$?
check "realtime: power-off kills, suspend/resume, statuses as in deterministic mode" \
  '[ $rc -eq 0 ] && grep -q "^PASS .*mode=realtime" "$tmp/lifert.txt"'
"$bin" run --seed 1 "$src/tests/exec/spinner.vmcis" >"$tmp/spin.txt"; rc=$?
check "realtime: power-off reaches a program that never calls the world (status 137)" \
  '[ $rc -eq 0 ] && grep -q "^PASS .*mode=realtime" "$tmp/spin.txt"'

# /dev/urandom and /dev/random draw from the world's seeded stream (in-process:
# src/posix/fd_calls.c); bad pointers give EFAULT and the program goes on (src/sock/api.c)
sed -e "s#@VSOCK_ECHO@#$prog#g" -e "s#@EXEC_GAPS@#$gaps#g" "$src/tests/exec/gaps.vmcis.in" \
  >"$tmp/gaps.vmcis"
"$bin" run --seeds 1..20 --check-determinism "$tmp/gaps.vmcis" >"$tmp/gaps.txt"; rc=$?
check "urandom/EFAULT: 20 seeds pass, each twice with the same trace (statuses 0)" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/gaps.txt")" -eq 20 ]'
for r in g7a g7b g8; do
    s=${r#g}; s=${s%[ab]}
    "$bin" run --seed $s --artifacts "$tmp/$r" "$tmp/gaps.vmcis" >/dev/null
done
ga=$tmp/g7a/gaps.vmcis.seed7; gb=$tmp/g7b/gaps.vmcis.seed7; g8=$tmp/g8/gaps.vmcis.seed8
check "urandom: 32 bytes and random: 8 bytes printed" \
  'grep -qx "urandom=[0-9a-f]\{64\}" $ga/rnd.stdout && grep -qx "random=[0-9a-f]\{16\}" $ga/rnd.stdout'
check "the same seed reads the same bytes from /dev/urandom and /dev/random" \
  '[ "$(grep random $ga/rnd.stdout)" = "$(grep random $gb/rnd.stdout)" ]'
check "another seed reads other bytes" \
  '[ "$(grep ^urandom= $ga/rnd.stdout)" != "$(grep ^urandom= $g8/rnd.stdout)" ] &&
   [ "$(grep ^random= $ga/rnd.stdout)" != "$(grep ^random= $g8/rnd.stdout)" ]'
check "a bad buffer for a urandom read: EFAULT" \
  'grep -qx "ok 5 read into a bad buffer: r=-1 errno=Bad address" $ga/rnd.stdout'
# stdio over /dev/urandom: fopen/fread, fgets, getc, fileno, fdopen draw from the world's stream
# too (src/preload/urandom_stdio.c); a run of its own, so that its first 32 bytes can be
# compared with those of open + read in a run of the same seed
printf 'scenario "fopen"\nvm guest\nexec r on guest "%s fopen"\ncheck r.status == 0\n' "$gaps" \
  >"$tmp/fopen.vmcis"
printf 'scenario "fopen"\nvm guest\nexec r on guest "%s readfd"\ncheck r.status == 0\n' "$gaps" \
  >"$tmp/readfd.vmcis"
"$bin" run --seeds 1..5 --check-determinism "$tmp/fopen.vmcis" >"$tmp/fo.txt"; rc=$?
check "fopen: 5 seeds pass, each twice with the same trace (13 checks of stdio held)" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/fo.txt")" -eq 5 ]'
for r in f7a f7b f8 r7; do
    s=${r#?}; s=${s%[ab]}
    case $r in r*) f=readfd ;; *) f=fopen ;; esac
    "$bin" run --seed $s --artifacts "$tmp/$r" "$tmp/$f.vmcis" >/dev/null
done
fa=$tmp/f7a/fopen.vmcis.seed7/r.stdout; fb=$tmp/f7b/fopen.vmcis.seed7/r.stdout
f8=$tmp/f8/fopen.vmcis.seed8/r.stdout; r7=$tmp/r7/readfd.vmcis.seed7/r.stdout
check "fopen: every stdio check held (13 ok lines), 32 bytes printed" \
  '[ "$(grep -c "^ok " $fa)" -eq 13 ] && grep -qx "first32=[0-9a-f]\{64\}" $fa'
check "fopen + fread, read of its fileno, fdopen + fread: the same bytes for the same seed" \
  '[ "$(grep = $fa)" = "$(grep = $fb)" ]'
check "and other bytes for another seed" \
  '[ "$(grep ^first32= $fa)" != "$(grep ^first32= $f8)" ] &&
   [ "$(grep ^fileno_read= $fa)" != "$(grep ^fileno_read= $f8)" ] &&
   [ "$(grep ^fdopen= $fa)" != "$(grep ^fdopen= $f8)" ]'
check "fread of an fopen stream gives the bytes read() of an open descriptor gives" \
  '[ "$(grep ^first32= $fa)" = "$(grep ^first32= $r7)" ]'
"$bin" run --realtime --seed 7 --artifacts "$tmp/frt" "$tmp/fopen.vmcis" >"$tmp/fort.txt"; rc=$?
check "realtime: the C library's stdio, the same 13 checks hold" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^ok " $tmp/frt/fopen.vmcis.seed7/r.stdout)" -eq 13 ]'
check "every EFAULT/EINVAL check held (36 ok lines, none failed)" \
  '[ "$(grep -c "^ok " $ga/cli.stdout)" -eq 36 ] && ! grep -q "^FAIL" $ga/cli.stdout'
# The same with every payload staged in the areas (the path taken when the kernel does not let
# the world read the program's memory): the same 36 outcomes, the same traces
VMCISIM_EXEC_STAGING=1 "$bin" run --seeds 1..5 --check-determinism "$tmp/gaps.vmcis" \
  >"$tmp/gapst.txt"; rc=$?
VMCISIM_EXEC_STAGING=1 "$bin" run --seed 7 --artifacts "$tmp/g7s" "$tmp/gaps.vmcis" >/dev/null
check "staged payload: 5 seeds pass twice with the same trace, 36 ok lines" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/gapst.txt")" -eq 5 ] &&
   [ "$(grep -c "^ok " $tmp/g7s/gaps.vmcis.seed7/cli.stdout)" -eq 36 ] &&
   ! grep -q "^FAIL" $tmp/g7s/gaps.vmcis.seed7/cli.stdout'
check "the server echoed the 4 good bytes and saw EOF" \
  'grep -qx "echoed 4 bytes, eof" $ga/srv.stdout'

if [ $fails -ne 0 ]; then
    cat "$tmp/det.txt" "$tmp/gaps.txt" "$tmp/fo.txt" "$tmp/f.txt" "$tmp/m.txt" "$tmp/q.txt"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all exec C checks passed"
