# checks.sh - sourced by the shell tests: a temporary directory removed at exit ($tmp), and
# `check NAME EXPR`, which prints "ok: NAME" or "FAIL: NAME" and counts failures in $fails for
# the script's last line to turn into its exit status.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
