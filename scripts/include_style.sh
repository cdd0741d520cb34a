#!/bin/sh
# include_style.sh - one include style for the project's own headers.
#
# usage: include_style.sh [--fix] SOURCE_DIR
#
# The style: a quoted #include names its header by its path from an include root, never from
# the including file's folder and never with "..":
#   - the library's headers from src/:        #include "sock/vsock.h"  (also inside src/sock/)
#   - the public headers from include/:       #include "vmcisim/vmcisim.h"  (include/vmcisim.h
#     and its neighbours only forward there, for programs written against the old paths)
#   - tests/ and bench/ name their own helpers by bare name (their folder is their root).
# Angle-bracket includes (system headers) are left alone. Without --fix the script lists each
# include that breaks the style with the form it should have, and fails; with --fix it rewrites
# them in place.
set -eu

fix=0
if [ "${1:-}" = "--fix" ]; then
    fix=1
    shift
fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--fix] SOURCE_DIR" >&2
    exit 2
fi
cd "$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

find src include bench tests -name '*.[ch]' | LC_ALL=C sort >"$tmp/files"
grep -v '^include/' "$tmp/files" >"$tmp/scan"
: >"$tmp/bad"
# shellcheck disable=SC2046
grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $(cat "$tmp/scan") |
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
    f = $0; sub(/:.*/, "", f)
    rest = substr($0, length(f) + 2); line = rest; sub(/:.*/, "", line)
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
    d = f; sub(/\/[^\/]*$/, "", d)
    top = f; sub(/\/.*/, "", top)           # src, bench or tests
    # where the compiler finds it: next to the file, then the include roots
    roots = d " include src " top
    n = split(roots, r, " "); p = ""
    for (i = 1; i <= n; i++) { q = norm(r[i] "/" inc); if (q in have) { p = q; break } }
    if (p == "") next                        # not a file of ours (generated, or system)
    want = p
    if (want ~ /^include\/vmcisim\//) sub(/^include\//, "", want)
    else if (want ~ /^include\/[^\/]*$/) sub(/^include\//, "vmcisim/", want)   # forwarder
    else if (want ~ /^src\//) sub(/^src\//, "", want)
    else if (want ~ /^(bench|tests)\//) {
        # a folder of its own names its helpers bare; from elsewhere it is out of bounds
        sub(/^(bench|tests)\//, "", want)
    }
    if (want != inc) print f, line, inc, want
}' >"$tmp/bad"

if [ ! -s "$tmp/bad" ]; then
    echo "include_style: every quoted include names its header from an include root"
    exit 0
fi
if [ "$fix" -eq 0 ]; then
    awk '{ printf "%s:%s: #include \"%s\" should be #include \"%s\"\n", $1, $2, $3, $4 }' "$tmp/bad"
    echo "include_style: $(wc -l <"$tmp/bad") include(s) break the style (scripts/include_style.sh --fix rewrites them)" >&2
    exit 1
fi
while read -r f line from to; do
    # the header names are plain paths: escape only what sed treats specially
    fe=$(printf '%s' "$from" | sed 's/[.[\*^$/]/\\&/g')
    te=$(printf '%s' "$to" | sed 's/[&/]/\\&/g')
    sed -i "${line}s/\"$fe\"/\"$te\"/" "$f"
done <"$tmp/bad"
echo "include_style: rewrote $(wc -l <"$tmp/bad") include(s)"
