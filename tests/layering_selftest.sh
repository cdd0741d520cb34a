#!/bin/sh
# The layering check itself: a tree where src/sim calls up into src/sock, and includes a
# header of src/hypervisor, must fail with exactly those two findings; the same tree without
# them must pass. usage: layering_selftest.sh SOURCE_DIR C_COMPILER
set -eu
src=$1
cc=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/tree/src/sim" "$t/tree/src/sock" "$t/tree/src/hypervisor" "$t/obj/src/sim" "$t/obj/src/sock"
printf 'int hv_thing(void);\n' >"$t/tree/src/hypervisor/hv.h"
printf '#include "../hypervisor/hv.h"\nint sock_up(void);\nint sim_low(void) { return sock_up(); }\n' >"$t/tree/src/sim/world.c"
printf 'int sim_low(void);\nint sock_up(void) { return 1; }\nint sock_down(void) { return sim_low(); }\n' >"$t/tree/src/sock/api.c"
"$cc" -c "$t/tree/src/sim/world.c" -o "$t/obj/src/sim/world.c.o"
"$cc" -c "$t/tree/src/sock/api.c" -o "$t/obj/src/sock/api.c.o"

if sh "$src/scripts/check_layers.sh" "$t/tree" "$t/obj" >"$t/out" 2>"$t/err"; then
    echo "FAIL: an upward call and include passed the check" >&2
    exit 1
fi
cat >"$t/want" <<'WANT'
src/sim/world.c (sim) calls sock_up of src/sock/api.c (sock), a layer above
src/sim/world.c:1 (sim) includes src/hypervisor/hv.h (hypervisor), a layer above
WANT
if ! diff -u "$t/want" "$t/out"; then
    echo "FAIL: findings differ" >&2
    exit 1
fi

# Without the upward call and include, the same tree passes (sock -> sim runs down).
printf 'int sim_low(void) { return 0; }\n' >"$t/tree/src/sim/world.c"
"$cc" -c "$t/tree/src/sim/world.c" -o "$t/obj/src/sim/world.c.o"
if ! sh "$src/scripts/check_layers.sh" "$t/tree" "$t/obj" >"$t/out" 2>&1; then
    cat "$t/out" >&2
    echo "FAIL: a downward call was refused" >&2
    exit 1
fi

# A file in a folder with no layer is refused (a new folder needs its place).
mkdir -p "$t/tree/src/newdir" "$t/obj/src/newdir"
printf 'int x(void) { return 0; }\n' >"$t/tree/src/newdir/x.c"
"$cc" -c "$t/tree/src/newdir/x.c" -o "$t/obj/src/newdir/x.c.o"
if sh "$src/scripts/check_layers.sh" "$t/tree" "$t/obj" >"$t/out" 2>&1; then
    echo "FAIL: a file outside every layer passed" >&2
    exit 1
fi
grep -q '^src/newdir/x.c: in no layer' "$t/out" || { cat "$t/out" >&2; exit 1; }
echo "layering_selftest: ok"
