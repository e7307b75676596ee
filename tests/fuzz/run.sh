#!/usr/bin/env bash
# The long fuzz run: every libFuzzer target for --minutes each (default 5),
# one after the other, built with clang, ASan and UBSan as in CI. Corpora,
# crash artifacts and logs go to --work (default /tmp/gapless-fuzz), never
# into the source tree; a corpus kept there grows from run to run. Prints
# per target the executions, the coverage (cov: edges, ft: features), the
# corpus, and the crashes found. Exit 0 only when no target found one.
# Not in ctest (tests/*.cmake hold the short CI runs); see README.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
minutes=5
build=$top/build-fuzz
work=${TMPDIR:-/tmp}/gapless-fuzz
targets=()

usage () {
  echo "usage: tests/fuzz/run.sh [--minutes M] [--build DIR] [--work DIR] [TARGET...]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
seconds=$(awk -v minutes="$minutes" 'BEGIN { printf "%d", minutes * 60 }')
[ "$seconds" -gt 0 ] || usage

# The CI build's flags (tools/test.sh), in a directory of its own.
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S "$top" -B "$build" -DGL_SANITIZE=ON -DGL_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if ! grep -q '^GL_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "run.sh: $build was configured without -DGL_FUZZ=ON" >&2
  exit 1
fi
# Every target CMake knows by the name fuzz_*, but the corpus writer.
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cmake --build "$build" --target help | sed -n 's/^\.\.\. \(fuzz_[a-z_]*\).*/\1/p' \
                         | grep -v '^fuzz_msg_make_corpus$' | sort)
fi
cmake --build "$build" -j2 --target "${targets[@]}" fuzz_msg_make_corpus >"$build/fuzz-build.log" 2>&1 || {
  tail -40 "$build/fuzz-build.log" >&2
  echo "run.sh: the build failed (log: $build/fuzz-build.log)" >&2
  exit 1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$work/logs"

# The seeds CI gives each target (tests/*.cmake), added to its corpus.
seed () {
  local target=$1 corpus=$2
  case $target in
    fuzz_msg) "$build/protocol/fuzz_msg_make_corpus" "$corpus" >/dev/null ;;
    fuzz_provider_*) cp "$top/tests/fixtures/providers/${target#fuzz_provider_}"-* "$corpus"/ ;;
    fuzz_ops_health)
      printf 'breaker=closed\nrequests=100\nfailures=3\nrate_limited=1\nfetches=40\nbars=5000\nfailure_rate=-1\nin_flight=2\ncompleteness=0.98\nlatency_le_ms=50,100,250,500,1000,5000,inf\nlatency_counts=1,2,3,4,5,6,7\nlatency_sum_ms=9000\nerrors=rate_limited:1,timeout:2\n' \
        >"$corpus/sample" ;;
    *) ;;   # fuzz_broker and fuzz_actor start empty (fuzz_actor writes its own)
  esac
}

# fuzz_actor's inputs free memory on libzmq's threads, so libFuzzer's
# per-input leak check is off for it, as in CI (tests/runtime.cmake).
options () {
  case $1 in
    fuzz_actor) echo "-detect_leaks=0" ;;
  esac
}

count_artifacts () {
  find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
       -o -name 'oom-*' \) | wc -l
}

rows=()
failed=0
for target in "${targets[@]}"; do
  binary=$(find "$build" -type f -executable -name "$target" -not -path '*/CMakeFiles/*' | head -1)
  if [ -z "$binary" ]; then
    echo "run.sh: no binary for $target in $build" >&2
    failed=1
    continue
  fi
  corpus=$work/corpus/$target
  artifacts=$work/artifacts/$target
  log=$work/logs/$target.log
  mkdir -p "$corpus" "$artifacts"
  seed "$target" "$corpus"
  before=$(count_artifacts "$artifacts")
  echo "run.sh: $target for $seconds s (log: $log)" >&2
  status=0
  # shellcheck disable=SC2046  # options are words
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    $(options "$target") -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || status=$?
  found=$(( $(count_artifacts "$artifacts") - before ))
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
  fi
  rows+=("| $target | ${execs:--} | ${rate:--} | ${cov:--} | ${ft:--} | ${corp:--} | ${rss:--} | $found | $status |")
done

echo "run.sh: $minutes min per target, corpora in $work/corpus, artifacts in $work/artifacts"
echo "| target | execs | execs/s | cov | ft | corpus (units/size) | peak RSS MB | crashes | exit |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
  echo "run.sh: FAILED: see the logs in $work/logs and the inputs in $work/artifacts" >&2
fi
exit "$failed"
