#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz/: a clang tree of their own, with ASan,
# UBSan and libFuzzer's coverage, where cutover-agent and cutoverctl are
# built too (so the tree is proven to compile with clang as well as GCC).
#
#   scripts/fuzz.sh build [DIR]          configure and build DIR (default build-fuzz)
#   scripts/fuzz.sh run TARGET [DIR]     run one target for FUZZ_SECONDS (default 30)
#                                        over its corpus, tests/fuzz/corpus/TARGET
#   scripts/fuzz.sh all [DIR]            build, then run every target
#
# A run starts from the corpus in the tree and keeps what it finds in
# DIR/fuzz-corpus/TARGET (the tree's corpus is never written); a crash
# leaves its input in DIR/fuzz-artifacts/ and fails the run. Replay one with
#   DIR/tests/fuzz/fuzz_TARGET DIR/fuzz-artifacts/crash-...
# ctest runs `build` once and `run` per target (labels fuzz) when clang is
# installed (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/fuzz/targets.sh

verb=${1:-all}
clangxx=${CLANGXX:-$(command -v clang++-14 || command -v clang++ || true)}
clangc=${CLANGC:-$(command -v clang-14 || command -v clang || true)}

build() {
  local dir=$1
  [[ -n $clangxx && -n $clangc ]] || { echo "fuzz: clang is not installed" >&2; exit 1; }
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$clangc" \
    -DCMAKE_CXX_COMPILER="$clangxx" -DCUTOVER_FUZZ=ON -DCUTOVER_BUILD_TESTS=OFF \
    "${launcher[@]}" >/dev/null
  local targets=(cutover-agent cutoverctl)
  for t in "${FUZZ_TARGETS[@]}"; do targets+=("fuzz_$t"); done
  cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"
}

run() {
  local target=$1 dir=$2
  local binary="$dir/tests/fuzz/fuzz_$target"
  [[ -x $binary ]] || { echo "fuzz: $binary is not built (scripts/fuzz.sh build $dir)" >&2; exit 1; }
  mkdir -p "$dir/fuzz-corpus/$target" "$dir/fuzz-artifacts"
  # Leaks are not what these targets look for, and protobuf's and libpq's
  # one-time allocations would read as leaks.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$binary" -max_total_time="${FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/fuzz-artifacts/$target-" \
    "$dir/fuzz-corpus/$target" "tests/fuzz/corpus/$target"
}

case $verb in
  build) build "${2:-build-fuzz}" ;;
  run) run "${2:?target}" "${3:-build-fuzz}" ;;
  all)
    dir=${2:-build-fuzz}
    build "$dir"
    for t in "${FUZZ_TARGETS[@]}"; do run "$t" "$dir"; done
    ;;
  *) echo "usage: scripts/fuzz.sh build|run TARGET|all [DIR]" >&2; exit 2 ;;
esac
