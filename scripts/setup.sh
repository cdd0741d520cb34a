#!/bin/sh
# Install what building and testing vmcisim needs on Debian 12, only if something is missing.
# With VMCISIM_SETUP_TEST_TOOLS=1 (the test script sets it) also the outside programs the tests
# drive: tshark (the capture and its Lua dissector), chromium (the HTML report), socat and
# python3 (the hybrid-vsock bridge, tests/bridge_cli.sh).
set -eu
need=""
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v cc >/dev/null 2>&1 || need="$need build-essential"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
[ -f /usr/include/ev.h ] || need="$need libev-dev"
pkg-config --exists check 2>/dev/null || need="$need check"
if [ "${VMCISIM_SETUP_TEST_TOOLS:-0}" = 1 ]; then
  command -v tshark >/dev/null 2>&1 || need="$need tshark"
  command -v chromium >/dev/null 2>&1 || need="$need chromium"
  command -v socat >/dev/null 2>&1 || need="$need socat"
  command -v python3 >/dev/null 2>&1 || need="$need python3"
fi
if [ -n "$need" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing$need"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
