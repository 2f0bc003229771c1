#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ with clang's libFuzzer under ASan+UBSan (into build-fuzz/) and
# runs each one, one after the other, from its seed corpus for a bounded time or number of
# inputs. Fails when a target crashes, leaks, times out or breaks an invariant; the input that
# did it is kept as build-fuzz/artifacts/<target>-crash-… (replay: build-fuzz/fuzz/<target>_fuzz
# FILE). New inputs a run finds go to build-fuzz/corpus/<target>, never into the source tree.
# Installs what is missing first (scripts/install-deps.sh --fuzz). See docs/FUZZING.md.
# Usage: scripts/fuzz.sh [--seconds N] [--runs N] [--build-only] [TARGET…]
#   --seconds N   fuzz each target for at most N seconds (default 30 when --runs is not given)
#   --runs N      fuzz each target for at most N inputs (the long runs of docs/FUZZING.md)
#   --build-only  build, do not run
#   TARGET        params canonical_request policy csr_check http_request (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="" runs="" build_only="" targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(params canonical_request policy csr_check http_request)
((${#targets[@]})) || targets=("${all[@]}")
[[ -n $seconds || -n $runs ]] || seconds=30
for t in "${targets[@]}"; do
  [[ -f fuzz/${t}_fuzz.cc ]] || { echo "fuzz.sh: no target $t (have: ${all[*]})" >&2; exit 2; }
done

scripts/install-deps.sh --fuzz

dir=build-fuzz
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$dir" -G Ninja "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTPLAN_FUZZ=ON -DCERTPLAN_SANITIZE=ON \
  -DCERTPLAN_TESTS=OFF >/dev/null
ninja -C "$dir" "${targets[@]/%/_fuzz}"
[[ -n $build_only ]] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

# The longest input each target is given: room for the HTTP header limit (16 KiB) to be crossed,
# a few KiB elsewhere (the seeds are ≤ 1.5 KiB).
max_len() {
  case $1 in
    http_request) echo 20480 ;;
    *) echo 4096 ;;
  esac
}

mkdir -p "$dir/artifacts"
status=0
summary=()
for t in "${targets[@]}"; do
  work=$dir/corpus/$t
  log=$dir/fuzz-$t.log
  mkdir -p "$work"
  args=(-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$dir/artifacts/$t-")
  [[ -f fuzz/dict/$t.dict ]] && args+=(-dict="fuzz/dict/$t.dict")
  [[ -n $runs ]] && args+=(-runs="$runs")
  [[ -n $seconds ]] && args+=(-max_total_time="$seconds")
  echo "-- $t: $dir/fuzz/${t}_fuzz ${args[*]} $work fuzz/corpus/$t"
  rc=0
  "$dir/fuzz/${t}_fuzz" "${args[@]}" "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if ((rc != 0)); then
    status=1
    echo "FAILED: $t (exit $rc); the end of $log:"
    tail -n 60 "$log"
    summary+=("$(printf '%-18s FAILED (exit %d) after %s executions' "$t" "$rc" "${execs:-?}")")
  else
    summary+=("$(printf '%-18s %12s executions  %8s exec/s  0 crashes' "$t" "${execs:-?}" "${rate:-?}")")
  fi
done
printf '%s\n' "== fuzz summary" "${summary[@]}"
exit $status
