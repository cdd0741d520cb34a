#!/bin/sh
# Install the build to a temporary prefix, then build examples/hello.c against it the four ways
# a user would: pkg-config --static, pkg-config (shared library), find_package() in a CMake
# project, and the README's library sample as printed. Each must run to completion.
set -eu
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "install_pkgconfig: $*"; exit 1; }
for h in vmcisim.h vmci_sockets.h vmci_posix.h vmcisim/vmcisim.h vmcisim/vmci_sockets.h vmcisim/vmci_posix.h; do
  test -f "$prefix/include/$h" || fail "missing $prefix/include/$h"
done
test -f "$prefix/lib/libvmcisim.a" || fail "missing libvmcisim.a"
test -e "$prefix/lib/libvmcisim.so" || fail "missing libvmcisim.so"
test -f "$prefix/lib/cmake/vmcisim/vmcisimConfig.cmake" || fail "missing vmcisimConfig.cmake"
test -x "$prefix/bin/vmcisim" || fail "missing bin/vmcisim"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# Sanitizer builds need the same runtime at link time.
extra=""
if nm "$prefix/lib/libvmcisim.a" 2>/dev/null | grep -q __asan_; then extra="-fsanitize=address,undefined"; fi
if nm "$prefix/lib/libvmcisim.a" 2>/dev/null | grep -q __tsan_; then extra="-fsanitize=thread"; fi

expect_hello() {   # $1: what was built, $2: its output
  echo "$1: $2"
  echo "$2" | grep -q "^hello: run=0 " || fail "$1: hello did not run to completion"
}

# 1. Static, through pkg-config alone (the contract's line).
cc $extra -o "$prefix/hello_static" "$src/examples/hello.c" $(pkg-config --cflags --libs --static vmcisim)
expect_hello "pkg-config --static" "$("$prefix/hello_static")"

# 2. Shared: plain `pkg-config --libs` must be enough to link.
cc $extra -o "$prefix/hello_shared" "$src/examples/hello.c" $(pkg-config --cflags --libs vmcisim)
ldd "$prefix/hello_shared" | grep -q 'libvmcisim.so' || fail "shared link did not take libvmcisim.so"
expect_hello "pkg-config (shared)" "$("$prefix/hello_shared")"

# 3. A CMake project with find_package(vmcisim).
cbuild="$prefix/consumer-build"
cmake -S "$src/tests/cmake_consumer" -B "$cbuild" -DCMAKE_PREFIX_PATH="$prefix" \
  -DHELLO_SOURCE="$src/examples/hello.c" -DCMAKE_C_FLAGS="$extra" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null || fail "find_package(vmcisim) failed"
cmake --build "$cbuild" >/dev/null || fail "CMake consumer did not build"
expect_hello "find_package static" "$("$cbuild/hello_static")"
expect_hello "find_package shared" "$(LD_LIBRARY_PATH="$prefix/lib" "$cbuild/hello_shared")"

# 4. The README's library sample, exactly as printed (the first C block after "## Using the library").
awk '/^## Using the library/{f=1} f&&/^```c$/{c=1;next} c&&/^```$/{exit} c' "$src/README.md" > "$prefix/readme_sample.c"
test -s "$prefix/readme_sample.c" || fail "README has no C sample under 'Using the library'"
cc $extra -Wall -Werror -o "$prefix/readme_sample" "$prefix/readme_sample.c" \
  $(pkg-config --cflags --libs --static vmcisim) || fail "the README's sample does not compile as printed"
"$prefix/readme_sample" || fail "the README's sample exited with $?"
# 5. The README's test-helper sample (a Check program), also as printed.
awk '/^### Testing your code over many seeds/{f=1} f&&/^```c$/{c=1;next} c&&/^```$/{exit} c' "$src/README.md" > "$prefix/readme_seeds.c"
test -s "$prefix/readme_seeds.c" || fail "README has no C sample under 'Testing your code over many seeds'"
cc $extra -Wall -Werror -Wno-unused-parameter -o "$prefix/readme_seeds" "$prefix/readme_seeds.c" \
  $(pkg-config --cflags --libs --static vmcisim) $(pkg-config --cflags --libs check) \
  || fail "the README's test-helper sample does not compile as printed"
out=$(CK_FORK=no "$prefix/readme_seeds" 2>&1) || fail "the README's test-helper sample failed: $out"
echo "$out" | grep -q "100%: Checks: 1, Failures: 0, Errors: 0" || fail "README seeds sample: $out"
# 6. Bring your own program: an ordinary vsock program, compiled unmodified but for main's name
#    with pkg-config's flags alone, runs host<->guest through vmcisim_spawn_main.
cc $extra -Dmain=vecho_main -c -o "$prefix/vecho.o" "$src/tests/byop/vecho.c" $(pkg-config --cflags vmcisim) \
  || fail "tests/byop/vecho.c does not compile with pkg-config's flags"
cc $extra -o "$prefix/byop" "$src/tests/byop/driver.c" "$prefix/vecho.o" \
  $(pkg-config --cflags --libs --static vmcisim) || fail "the program does not link with pkg-config's flags"
out=$("$prefix/byop") || fail "bring-your-own-program run failed: $out"
echo "$out" | grep -q "^byop: server=0 client=0 hash=" || fail "byop: $out"
echo "$out" | grep "^byop:"
echo "install_pkgconfig: 8 passed, 0 failed"
