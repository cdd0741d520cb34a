#!/bin/sh
# exec_socat.sh VMCISIM SRCDIR - socat (the Debian package, unmodified) under exec moves 16 MiB
# from VSOCK-LISTEN on the host to VSOCK-CONNECT:2 in a guest; the file arrives with the same
# checksum, in deterministic mode (3 seeds, each twice with the same trace) and in realtime.
# socat is a Debian package (socat): without it this test fails and says so.
set -u
bin=$1
src=$2
if ! command -v socat >/dev/null 2>&1; then
    echo "FAIL: socat is not installed (apt-get install socat); the exec tests need it"
    exit 1
fi
. "$(dirname "$0")/../checks.sh"
head -c 16777216 /dev/urandom >"$tmp/in.bin"
want=$(cksum <"$tmp/in.bin")
run() { # run NAME ARGS...: one run writing $tmp/NAME.out
    name=$1
    shift
    sed -e "s#@IN@#$tmp/in.bin#g" -e "s#@OUT@#$tmp/$name.out#g" \
        "$src/tests/exec/socat.vmcis.in" >"$tmp/$name.vmcis"
    "$bin" run "$@" "$tmp/$name.vmcis" >"$tmp/$name.txt"
}
for s in 1 2 3; do
    run det$s --seed $s --check-determinism; rc=$?
    check "seed $s: both socats exit 0, the same trace twice" '[ $rc -eq 0 ]'
    check "seed $s: 16 MiB arrived with the same checksum" '[ "$(cksum <"$tmp/det$s.out")" = "$want" ]'
done
run rt --realtime --seed 1; rc=$?
check "realtime: both socats exit 0" '[ $rc -eq 0 ] && grep -q "mode=realtime" "$tmp/rt.txt"'
check "realtime: 16 MiB arrived with the same checksum" '[ "$(cksum <"$tmp/rt.out")" = "$want" ]'
if [ $fails -ne 0 ]; then
    cat "$tmp"/*.txt
    echo "$fails check(s) failed"
    exit 1
fi
echo "all exec socat checks passed"
