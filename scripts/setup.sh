#!/bin/sh
# Install what building and testing vmcisim needs on Debian 12, only if something is missing.
# Always python3 and socat: the `exec` tests run them as simulated processes and fail without
# them (they are the programs users exec most, so the demo and a hand-run ctest need them too).
# With VMCISIM_SETUP_TEST_TOOLS=1 (the test script sets it) also the outside programs the tests
# drive and skip without: tshark (the capture and its Lua dissector) and chromium (the HTML
# report). python3 and socat also drive the hybrid-vsock bridge tests (tests/bridge_cli.sh).
set -eu
need=""
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v cc >/dev/null 2>&1 || need="$need build-essential"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
[ -f /usr/include/ev.h ] || need="$need libev-dev"
pkg-config --exists check 2>/dev/null || need="$need check"
# the static C library and objcopy: test_elfcheck builds the programs `exec` must refuse
command -v cc >/dev/null 2>&1 && [ "$(cc -print-file-name=libc.a)" = libc.a ] && need="$need libc6-dev"
command -v objcopy >/dev/null 2>&1 || need="$need binutils"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v socat >/dev/null 2>&1 || need="$need socat"
if [ "${VMCISIM_SETUP_TEST_TOOLS:-0}" = 1 ]; then
  command -v tshark >/dev/null 2>&1 || need="$need tshark"
  command -v chromium >/dev/null 2>&1 || need="$need chromium"
fi
if [ -n "$need" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing$need"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
# CPython's own vsock tests (tests/exec/exec_cpython.sh) need its test package, which Debian
# ships apart as libpythonX.Y-testsuite; looked for once python3 itself is there.
if [ "${VMCISIM_SETUP_TEST_TOOLS:-0}" = 1 ] && command -v python3 >/dev/null 2>&1 &&
   ! python3 -c 'import test.test_socket' >/dev/null 2>&1; then
  v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  apt-cache show "libpython$v-testsuite" >/dev/null 2>&1 || $SUDO apt-get update -qq || true
  if apt-cache show "libpython$v-testsuite" >/dev/null 2>&1; then
    echo "setup: installing libpython$v-testsuite"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "libpython$v-testsuite" >/dev/null
  fi
fi
