#!/bin/sh
# Install the build to a temporary prefix, then build and run examples/hello.c against it with
# nothing but `pkg-config --cflags --libs --static vmcisim`.
set -eu
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for h in vmcisim.h; do
  test -f "$prefix/include/$h" || { echo "missing $prefix/include/$h"; exit 1; }
done
test -f "$prefix/lib/libvmcisim.a" || { echo "missing libvmcisim.a"; exit 1; }
test -x "$prefix/bin/vmcisim" || { echo "missing bin/vmcisim"; exit 1; }
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs --static vmcisim)
# Sanitizer builds need the same runtime at link time.
extra=""
if nm "$prefix/lib/libvmcisim.a" 2>/dev/null | grep -q __asan_; then extra="-fsanitize=address,undefined"; fi
if nm "$prefix/lib/libvmcisim.a" 2>/dev/null | grep -q __tsan_; then extra="-fsanitize=thread"; fi
cc $extra -o "$prefix/hello" "$src/examples/hello.c" $flags
out=$("$prefix/hello")
echo "$out"
echo "$out" | grep -q "^hello: run=0 " || { echo "hello did not run to completion"; exit 1; }
echo "install_pkgconfig: 1 passed, 0 failed"
