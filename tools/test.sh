#!/usr/bin/env bash
# Installs what is missing, builds gapless with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang, so the libFuzzer targets build too)
# and runs every test. Ends with ctest's summary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/setup.sh"

build=${GL_BUILD_DIR:-$top/build-test}
CC=clang cmake -S "$top" -B "$build" -DGL_SANITIZE=ON -DGL_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
