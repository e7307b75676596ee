#!/usr/bin/env bash
# Installs what is missing, builds everything with gcc in a Debug and a
# Release configuration (warnings are errors), runs the main job
# (tools/run.sh --check) on the Release build, then builds gapless with
# AddressSanitizer and UndefinedBehaviorSanitizer (clang, so the libFuzzer
# targets build too) and runs every test. Ends with ctest's summary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/setup.sh"

# gcc and clang warn about different things, and gcc's warnings change
# with the optimisation level: both configurations must build clean.
for type in Debug Release; do
  gcc_build=${GL_BUILD_DIR:-$top/build-test}-gcc-${type,,}
  CC=gcc cmake -S "$top" -B "$gcc_build" -DCMAKE_BUILD_TYPE=$type >/dev/null
  if ! cmake --build "$gcc_build" -j"$(nproc)" >"$gcc_build/build.log" 2>&1; then
    grep -E -B2 -A6 'error|warning' "$gcc_build/build.log" | head -80
    echo "test.sh: the gcc $type build failed (log: $gcc_build/build.log)" >&2
    exit 1
  fi
done

# The main job end to end on the Release build: every process, a real
# backfill with faults, coverage finding no gap (README, "Two commands").
GL_BUILD_DIR=${GL_BUILD_DIR:-$top/build-test}-gcc-release "$top/tools/run.sh" --check

build=${GL_BUILD_DIR:-$top/build-test}
CC=clang cmake -S "$top" -B "$build" -DGL_SANITIZE=ON -DGL_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
