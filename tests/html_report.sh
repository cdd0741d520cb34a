#!/bin/sh
# html_report.sh VMCISIM SRCDIR - `vmcisim run --html` draws a run as a sequence diagram that a
# browser shows as it should: headless Chromium (Debian's package, installed here as root if
# missing; without root and without Chromium the test is skipped, exit 77) loads the report of
# a passing run with connections and a suspend, and of a failing run, and the DOM it builds
# must hold the lanes, the control packets, the data, the lifecycle event and the failure.
set -eu
bin=$1
src=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: chromium is not installed and installing it needs root"
    exit 77
  fi
  echo "installing chromium"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  browser=$(command -v chromium)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

# --no-sandbox: CI runs as root; the network flags keep it from reaching out (none is needed).
dom() {
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --dump-dom "file://$1" 2>/dev/null
}

"$bin" run --seed 3 --html "$tmp/pass.html" "$src/scenarios/suspend_resume.vmcis" >/dev/null
dom "$tmp/pass.html" >"$tmp/pass.dom"
check "the page loads and has its title" \
  'grep -q "<title>suspend and resume, seed 3: PASS</title>" "$tmp/pass.dom"'
check "a lane per VM, named, with its CID" \
  'grep -q "<text class=\"name\" x=\"[0-9]*\" y=\"20\">host (cid 2)</text>" "$tmp/pass.dom" && grep -q "(cid 7)</text>" "$tmp/pass.dom"'
check "the handshake's control packets as arrows" \
  'grep -q "<g class=\"row ctl\">.*REQUEST2 [0-9]*→5000</text>" "$tmp/pass.dom" && grep -q "<g class=\"row ctl\">.*ATTACH " "$tmp/pass.dom"'
check "stream data with its size" 'grep -q "<g class=\"row data\">.*data 5 B " "$tmp/pass.dom"'
check "the suspend and resume marked on the guest's lane" \
  'grep -q "<g class=\"row event\">.*>suspend</text>" "$tmp/pass.dom" && grep -q "<g class=\"row event\">.*>resume</text>" "$tmp/pass.dom"'
check "the verdict at the end" 'grep -q "<g class=\"row pass\">.*>PASS</text>" "$tmp/pass.dom"'
check "nothing loaded from the network (one self-contained file)" \
  '! grep -Eq "(src|href)=\"https?:" "$tmp/pass.html"'

"$bin" run --seed 8 --html "$tmp/fail.html" "$src/tests/scenario_broken.vmcis" >/dev/null || true
dom "$tmp/fail.html" >"$tmp/fail.dom"
check "a failing run: the failed expectation marked, with its line" \
  'grep -q "<g class=\"row fail\">.*scenario_broken.vmcis:12: expected success, got EINVAL (suspend in operator)</text>" "$tmp/fail.dom"'
check "... after the suspend that it refused" \
  '[ "$(grep -o "row event\|row fail" "$tmp/fail.dom" | tr "\n" " ")" = "row event row event row fail " ]'

# vmcisim bench --html: the charts a browser shows (one transport, all write sizes, quickly).
"$bin" bench --quick --runs 1 --filter unix-socketpair/tput/ --html "$tmp/bench.html" >/dev/null
dom "$tmp/bench.html" >"$tmp/bench.dom"
check "bench --html: a line of five points for the socketpair, with its legend" \
  'grep -q "<g class=\"series\" data-key=\"unix-socketpair/tput\">" "$tmp/bench.dom" && [ "$(grep -o "<g class=\"series\" data-key=\"unix-socketpair/tput\">.*" "$tmp/bench.dom" | head -1 | grep -o "<circle" | wc -l)" -eq 5 ] && grep -q "<polyline" "$tmp/bench.dom" && grep -q ">Throughput against write size</h2>" "$tmp/bench.dom"'

# A screenshot: the diagram is drawn, not blank (PNG larger than an empty page).
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --user-data-dir="$tmp/profile" --window-size=800,600 --screenshot="$tmp/shot.png" \
  "file://$tmp/pass.html" >/dev/null 2>&1 || true
check "a screenshot of the report is drawn" '[ -s "$tmp/shot.png" ] && [ "$(wc -c <"$tmp/shot.png")" -gt 8000 ]'
echo "$fails failed"
[ "$fails" -eq 0 ]
