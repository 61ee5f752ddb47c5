#!/usr/bin/env bash
# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer (GCC):
# every binary, the nginx module and the tests instrumented, in a build tree
# of its own; run before each release (docs/deployment.md, "Releases").
#
#   scripts/sanitize.sh [DIR] [CTEST ARGS...]    default DIR build-sanitize
#   scripts/sanitize.sh build-sanitize -L unit   one label only
#   TARGETS="ngx_http_cutover_module module_test" scripts/sanitize.sh DIR -R ModuleTest
#
# nginx itself is Debian's, not instrumented: it can load the instrumented
# module only with the sanitizer runtimes first in its process, so the tests
# run it through a wrapper that preloads them (the Nginx fixture takes
# $CUTOVER_NGINX_BINARY). Any report fails the test that provoked it.
# Leak checking is off: gRPC and protobuf keep process-lifetime allocations
# that LeakSanitizer would report at every exit. SIGSEGV is left to the
# program (handle_segv=0): a test kills a worker with it on purpose and
# expects nginx to say "exited on signal 11".
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-sanitize}
(($# > 0)) && shift

flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
if [[ -n ${TARGETS:-} ]]; then
  read -ra targets <<<"$TARGETS"
  cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"
else
  cmake --build "$dir" -j "${JOBS:-$(nproc)}"
fi

nginx=$(command -v nginx || echo /usr/sbin/nginx)
wrapper=$(cd "$dir" && pwd)/nginx-with-sanitizers
cat >"$wrapper" <<WRAPPER
#!/bin/sh
# nginx with the sanitizer runtimes loaded first (scripts/sanitize.sh).
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" exec "$nginx" "\$@"
WRAPPER
chmod +x "$wrapper"

export CUTOVER_NGINX_BINARY=$wrapper
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:strict_string_checks=1:handle_segv=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$dir"
ctest --output-on-failure --timeout 1800 "$@"
