#!/bin/sh
# check_exec_cli.sh VMCISIM STATIC_PROGRAM - `vmcisim check-exec` (issue 12 item 5): a program
# `exec` can run prints "PROGRAM: ok" and exits 0; a refused one (here a -static build, which
# LD_PRELOAD cannot reach: ld.so(8)) prints the reason and the docs section on stderr and exits
# 2, the status of a scenario that tries to exec it.
set -u
bin=$1
static=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

"$bin" check-exec /bin/true >"$tmp/out" 2>"$tmp/err"; rc=$?
check "/bin/true: ok, exit 0" '[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "/bin/true: ok" ] && [ ! -s "$tmp/err" ]'

"$bin" check-exec "$static" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a static program: the reason, exit 2" '[ $rc -eq 2 ] && [ ! -s "$tmp/out" ] &&
  [ "$(cat "$tmp/err")" = "vmcisim: $static: statically linked: no dynamic loader runs, so LD_PRELOAD cannot reach it (see docs/exec.md#what-cannot-run)" ]'

PATH=/nonexistent "$bin" check-exec no-such-program >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a name not in PATH: exit 2" '[ $rc -eq 2 ] &&
  [ "$(cat "$tmp/err")" = "vmcisim: no-such-program: not found in PATH (see docs/exec.md#what-cannot-run)" ]'

"$bin" check-exec >"$tmp/out" 2>"$tmp/err"; rc=$?
check "no program: usage, exit 2" '[ $rc -eq 2 ] && grep -q "^usage: vmcisim check-exec PROGRAM" "$tmp/err"'

[ $fails -eq 0 ] || { echo "check_exec_cli: $fails failure(s)"; exit 1; }
echo "check_exec_cli: all passed"
