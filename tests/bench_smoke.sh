#!/bin/sh
# bench_smoke.sh - `vmcisim bench` produces well-formed, sane results for every baseline.
#
# usage: sh tests/bench_smoke.sh path/to/vmcisim
#
# Runs `vmcisim bench --quick --json` and checks that every line is a flat JSON object with the
# required fields and positive figures, and that every expected transport appears; then the
# CSV form and the refusal of bad options. It never asserts a timing: the figures depend on the
# machine and on whatever else runs beside the test.
set -u

bin=${1:?usage: bench_smoke.sh path/to/vmcisim}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# ---- the JSON Lines run (and its --html page) ------------------------------------------------

"$bin" bench --quick --json --html "$tmp/bench.html" >"$tmp/json" 2>"$tmp/json.err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "bench --quick --json exits 0"; else bad "bench --quick --json exited $rc"; fi
if [ -s "$tmp/json.err" ]; then
  bad "stderr is not a terminal, yet bench wrote to it:"
  sed 's/^/    /' "$tmp/json.err"
else
  ok "nothing on stderr when it is not a terminal (no progress line)"
fi
if [ -s "$tmp/json" ]; then ok "bench --quick --json printed results"; else bad "no results at all"; fi

# One verdict per line ("ok ..." or "FAIL ..."), then "seen <transport>" lines. The parser takes
# flat objects of strings (without escapes), numbers, null and booleans: exactly what bench
# emits, and anything else is a failure.
awk '
function skipws() { sub(/^[ \t]+/, "", s) }
function parse(   key, c) {
  split("", F); split("", T)
  s = $0
  skipws()
  if (substr(s, 1, 1) != "{") return "not an object"
  s = substr(s, 2); skipws()
  if (substr(s, 1, 1) == "}") { s = substr(s, 2); skipws(); return s == "" ? "" : "text after the object" }
  for (;;) {
    skipws()
    if (!match(s, /^"[^"\\]*"/)) return "bad key near: " substr(s, 1, 20)
    key = substr(s, 2, RLENGTH - 2); s = substr(s, RLENGTH + 1); skipws()
    if (substr(s, 1, 1) != ":") return "no colon after " key
    s = substr(s, 2); skipws()
    if (match(s, /^"[^"\\]*"/)) { T[key] = "s"; F[key] = substr(s, 2, RLENGTH - 2) }
    else if (match(s, /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) { T[key] = "n"; F[key] = substr(s, 1, RLENGTH) + 0 }
    else if (match(s, /^null/)) { T[key] = "null" }
    else if (match(s, /^(true|false)/)) { T[key] = "b" }
    else return "bad value for " key
    s = substr(s, RLENGTH + 1); skipws()
    c = substr(s, 1, 1); s = substr(s, 2)
    if (c == "}") { skipws(); return s == "" ? "" : "text after the object" }
    if (c != ",") return "no comma after " key
  }
}
function isint(v) { return v == int(v) }
function check(   why, metrics) {
  why = parse()
  if (why != "") return why
  if (T["transport"] != "s" || F["transport"] == "") return "no transport"
  if (T["direction"] != "s" || F["direction"] == "") return "no direction"
  if (!("msg_size" in T)) return "no msg_size"
  if (T["msg_size"] == "n" && !(F["msg_size"] > 0 && isint(F["msg_size"]))) return "msg_size not a positive integer"
  if (T["msg_size"] != "n" && T["msg_size"] != "null") return "msg_size neither number nor null"
  if (!("queue_size" in T)) return "no queue_size"
  if (T["queue_size"] == "n" && !(F["queue_size"] >= 0 && isint(F["queue_size"]))) return "queue_size not an integer >= 0"
  if (T["queue_size"] != "n" && T["queue_size"] != "null") return "queue_size neither number nor null"
  metrics = 0
  if ("gb_per_s" in T) { metrics++; if (T["gb_per_s"] != "n" || F["gb_per_s"] <= 0) return "gb_per_s not positive" }
  if ("msgs_per_s" in T) { metrics++; if (T["msgs_per_s"] != "n" || F["msgs_per_s"] <= 0) return "msgs_per_s not positive" }
  if ("rtt_ns_p50" in T || "rtt_ns_p99" in T) {
    metrics++
    if (T["rtt_ns_p50"] != "n" || F["rtt_ns_p50"] <= 0) return "rtt_ns_p50 not positive"
    if (T["rtt_ns_p99"] != "n" || F["rtt_ns_p99"] < F["rtt_ns_p50"]) return "rtt_ns_p99 missing or below p50"
  }
  if (metrics != 1) return "not exactly one of gb_per_s, msgs_per_s, rtt_ns_p50/p99"
  if (T["runs"] != "n" || F["runs"] < 1 || !isint(F["runs"])) return "runs not a positive integer"
  if (T["spread"] != "n" || F["spread"] < 0) return "spread missing or negative"
  if (!("ratio_to_socketpair" in T)) return "no ratio_to_socketpair"
  if (T["ratio_to_socketpair"] == "n" && F["ratio_to_socketpair"] <= 0) return "ratio_to_socketpair not positive"
  if ("gb_per_s" in T && T["ratio_to_socketpair"] != "n") return "throughput row without a ratio"
  return ""
}
{
  why = check()
  name = ("name" in F) ? F["name"] : "?"
  if (why == "") { print "ok   line " NR " is a valid result (" name ")"; seen[F["transport"]] = 1 }
  else print "FAIL line " NR ": " why ": " $0
}
END { for (t in seen) print "seen " t }
' "$tmp/json" >"$tmp/verdicts"

while IFS= read -r line; do
  case $line in
    "ok   "*) ok "${line#ok   }" ;;
    "FAIL "*) bad "${line#FAIL }" ;;
  esac
done <"$tmp/verdicts"

for t in unix-socketpair pipe tcp-loopback memcpy spsc-ring vmcisim-sched; do
  if grep -qx "seen $t" "$tmp/verdicts"; then ok "transport $t appears"; else bad "transport $t is missing"; fi
done
for kind in '"gb_per_s"' '"rtt_ns_p50"' '"msgs_per_s"'; do
  if grep -q "$kind" "$tmp/json"; then ok "some row reports $kind"; else bad "no row reports $kind"; fi
done

# ---- --html: the same results drawn --------------------------------------------------------------
if [ "$(grep -c '<svg class="chart"' "$tmp/bench.html")" -eq 2 ]; then ok "--html draws two charts"; else bad "--html: expected two charts"; fi
for key in unix-socketpair/tput vmci-stream/tput-g2h spsc-ring/tput "vmci-stream g2h, 65536-byte writes" "socketpair, 65536-byte writes"; do
  if grep -q "<g class=\"series\" data-key=\"$key\">" "$tmp/bench.html"; then ok "--html has the series $key"; else bad "--html lacks the series $key"; fi
done
if grep -Eq '(src|href)="https?:' "$tmp/bench.html"; then bad "--html loads something from the network"; else ok "--html is one self-contained page"; fi

# ---- CSV and --filter --------------------------------------------------------------------------

if "$bin" bench --quick --csv --filter memcpy >"$tmp/csv" 2>"$tmp/csv.err"; then
  ok "bench --quick --csv --filter memcpy exits 0"
else
  bad "bench --quick --csv --filter memcpy failed: $(cat "$tmp/csv.err")"
fi
if head -n 1 "$tmp/csv" | grep -q '^name,transport,direction,kind,msg_size,queue_size,'; then
  ok "CSV starts with its header line"
else
  bad "CSV header missing: $(head -n 1 "$tmp/csv")"
fi
if awk -F, 'NR == 1 { n = NF; next } NF != n || $2 != "memcpy" { bad = 1 } END { exit bad || NR != 6 }' "$tmp/csv"; then
  ok "CSV has 5 memcpy rows with as many fields as the header"
else
  bad "CSV rows malformed or not filtered to memcpy"
fi

# ---- bad options: usage and exit status 2 ------------------------------------------------------

for args in "--bogus" "--runs 0" "--runs x" "--json --csv" "--filter" "--filter no-such-case"; do
  # shellcheck disable=SC2086 # split on purpose
  "$bin" bench $args >/dev/null 2>"$tmp/bad.err"
  rc=$?
  if [ "$rc" -eq 2 ] && [ -s "$tmp/bad.err" ]; then
    ok "bench $args exits 2 with a message"
  else
    bad "bench $args exited $rc (want 2 and a message on stderr)"
  fi
done

echo "bench_smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
