#!/bin/sh
# check_layers.sh - fail when a file of the library reaches a layer above its own.
#
# usage: check_layers.sh SOURCE_DIR OBJECT_DIR...
#
# Two checks, both with the same layer map and no exceptions list:
#  1. calls: every object file under OBJECT_DIR (CMake's CMakeFiles/<target>.dir trees) names
#     the functions and data it uses (`nm -u`) and those it defines (`nm -g --defined-only`);
#     a file that uses a symbol defined in a higher layer is an upward call.
#  2. includes: every `#include "..."` of src/ and bench/ must name a header of its own layer
#     or a lower one (a header is how a file learns a layer's names, even without calling).
#
# The layers, bottom up (the rank decides; one folder is one layer):
#   0 real        src/posix/real.c: the C library's own functions, reached by every layer
#   0 public      include/: the public API's declarations (no code)
#   1 sim         src/sim/: threads, scheduler, time, RNG, trace, event loops, VM lifecycle
#   2 vmci        src/vmci/: what every VMCI layer shares (ABI, resource table, ring memory)
#   3 hypervisor  src/hypervisor/: contexts, routing, broker; reaches devices through a port
#   4 device      src/device/: a VM's VMCI device; calls the hypervisor (hypercalls)
#   5 guest       src/guest/: guest driver, host endpoint, the kernel API over them
#   6 sock        src/sock/: the socket core, its transports and the user-facing calls
#   7 assembly    src/assemble.c: builds a world bottom up (the one file that names every layer)
#   8 posix       src/posix/ (but real.c): the interposer, libc names over the socket API
#   9 exec        src/exec/: running outside programs under the interposer (`exec`)
#  10 bridge      src/bridge/: the hybrid-vsock bridge to programs outside the world
#  11 scenario    src/scenario/: the scenario language
#  12 bench       bench/: benchmarks; use anything below
#  13 cli         src/cli/: the command-line tool
#   0 preload     src/preload/: the child side of exec, a library of its own (links no layer);
#                 its protocol header is included by src/exec
# A file outside every layer fails the check too: a new folder must be given its place here.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 SOURCE_DIR OBJECT_DIR..." >&2
    exit 2
fi
src=$1
shift
NM=${NM:-nm}

# rank_of PATH (relative to the source root) -> "rank layer", or "-1 none"
layer_awk='
function layer(p) {
    sub(/^\.\//, "", p)
    if (p ~ /^src\/posix\/real\.[ch]$/) return "0 real"
    if (p ~ /^include\//)               return "0 public"
    if (p ~ /^src\/sim\//)              return "1 sim"
    if (p ~ /^src\/vmci\//)             return "2 vmci"
    if (p ~ /^src\/hypervisor\//)       return "3 hypervisor"
    if (p ~ /^src\/device\//)           return "4 device"
    if (p ~ /^src\/guest\//)            return "5 guest"
    if (p ~ /^src\/sock\//)             return "6 sock"
    if (p ~ /^src\/assemble\.[ch]$/)    return "7 assembly"
    if (p ~ /^src\/posix\//)            return "8 posix"
    if (p ~ /^src\/preload\//)          return "0 preload"
    if (p ~ /^src\/exec\//)             return "9 exec"
    if (p ~ /^src\/bridge\//)           return "10 bridge"
    if (p ~ /^src\/scenario\//)         return "11 scenario"
    if (p ~ /^bench\//)                 return "12 bench"
    if (p ~ /^src\/cli\//)              return "13 cli"
    return "-1 none"
}'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- 1. calls -------------------------------------------------------------------------------
: >"$tmp/objs"
for dir in "$@"; do
    # CMake names an object after its source: <dir>/<path relative to the project>.o
    find "$dir" -name '*.o' | LC_ALL=C sort | while IFS= read -r o; do
        rel=${o#"$dir"/}
        case $rel in
            src/* | bench/*) printf '%s %s\n' "$o" "${rel%.o}" >>"$tmp/objs" ;;
        esac
    done
done
nobj=$(wc -l <"$tmp/objs")
: >"$tmp/syms"
if [ "$nobj" -gt 0 ]; then
    # nm -A: "object: type symbol" (undefined: "object:  U symbol"); one nm per kind for all
    cut -d' ' -f1 "$tmp/objs" | xargs "$NM" -A -u >"$tmp/nm_u"
    cut -d' ' -f1 "$tmp/objs" | xargs "$NM" -A -g --defined-only >"$tmp/nm_d"
    awk -v objs="$tmp/objs" '
    BEGIN { while ((getline l < objs) > 0) { split(l, a, " "); rel[a[1]] = a[2] } }
    FILENAME ~ /nm_u$/ { o = $1; sub(/:$/, "", o); print rel[o], "U", $NF; next }
    NF == 3 { o = $1; sub(/:[0-9a-f]*$/, "", o); print rel[o], "D", $3 }' "$tmp/nm_u" "$tmp/nm_d" >"$tmp/syms"
fi
if [ "$nobj" -eq 0 ]; then
    echo "check_layers: no object files of src/ or bench/ under $*" >&2
    exit 2
fi

awk "$layer_awk"'
{ file[$1] = 1 }
$2 == "D" { def[$3] = $1 }
$2 == "U" { use[++n] = $1 " " $3 }
END {
    bad = 0
    for (f in file) {
        split(layer(f), L, " ")
        if (L[1] < 0) { printf "%s: in no layer (give its folder a place in check_layers.sh)\n", f; bad++ }
    }
    for (i = 1; i <= n; i++) {
        split(use[i], u, " ")
        if (!(u[2] in def)) continue
        split(layer(u[1]), a, " "); split(layer(def[u[2]]), b, " ")
        if (b[1] + 0 > a[1] + 0) {
            printf "%s (%s) calls %s of %s (%s), a layer above\n", u[1], a[2], u[2], def[u[2]], b[2]
            bad++
        }
    }
    exit bad > 0
}' "$tmp/syms" >"$tmp/calls" || true

# ---- 2. includes ----------------------------------------------------------------------------
# Resolved as the build does: next to the file, then src/, include/, bench/ (the include paths).
(cd "$src" && find src include bench -name '*.[ch]' | LC_ALL=C sort) >"$tmp/files"
(cd "$src" && grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $(grep -v '^include/' "$tmp/files")) |
awk -v files="$tmp/files" '
function norm(p,    n, a, i, k, out) {
    n = split(p, a, "/"); k = 0
    for (i = 1; i <= n; i++) {
        if (a[i] == "" || a[i] == ".") continue
        if (a[i] == ".." && k > 0) { k--; continue }
        st[++k] = a[i]
    }
    out = st[1]; for (i = 2; i <= k; i++) out = out "/" st[i]
    return out
}
BEGIN { while ((getline f < files) > 0) have[f] = 1 }
{
    split($0, c, ":"); f = c[1]; line = c[2]
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
    d = f; sub(/\/[^\/]*$/, "", d)
    n = split(d " src include bench", bases, " ")
    for (b = 1; b <= n; b++) {
        p = norm(bases[b] "/" inc)
        if (p in have) { print f, line, p; break }
    }
}' >"$tmp/incs"
awk "$layer_awk"'
{
    split(layer($1), a, " "); split(layer($3), b, " ")
    if (a[1] < 0) { printf "%s: in no layer\n", $1; bad++; next }
    if (b[1] + 0 > a[1] + 0) {
        printf "%s:%s (%s) includes %s (%s), a layer above\n", $1, $2, a[2], $3, b[2]; bad++
    }
}
END { exit bad > 0 }' "$tmp/incs" >"$tmp/includes" || true

n=$(cat "$tmp/calls" "$tmp/includes" | wc -l)
LC_ALL=C sort -u "$tmp/calls" "$tmp/includes"
if [ "$n" -ne 0 ]; then
    echo "check_layers: $n upward reference(s); a layer may use only its own and lower layers" >&2
    exit 1
fi
echo "check_layers: $nobj object files, $(wc -l <"$tmp/incs") includes: every reference runs down"
