#!/usr/bin/env bash
# Builds nginx and the cutover module from a given nginx source tree, then
# runs the module's tests (tests/ngx_module/module_test, built by CMake in
# BUILD_DIR) against that nginx, and checks the module's exports.
#
#   scripts/module-compat.sh NGINX_SOURCE_DIR [BUILD_DIR] [-- GTEST_ARGS...]
#
# NGINX_SOURCE_DIR is a release tarball unpacked, or a git checkout of
# github.com/nginx/nginx (auto/configure), e.g. from a mirror:
#   git --git-dir=MIRROR archive release-1.26.3 | tar -x -C /tmp/nginx-1.26.3
# Everything built goes under ${COMPAT_DIR:-/tmp/cutover-compat}/<version>/,
# never into the tree. Prints one line per run:
#   nginx 1.26.3: 80 tests, 80 passed, 0 failed
# and exits non-zero when a test failed.
set -euo pipefail
src_root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 1 ]] || { sed -n '2,15p' "$0" >&2; exit 2; }
ngx_src=$(cd "$1" && pwd)
shift
build=$src_root/build
if [[ $# -ge 1 && $1 != -- ]]; then build=$(cd "$1" && pwd); shift; fi
[[ ${1:-} == -- ]] && shift
tests=$build/tests/ngx_module/module_test
[[ -x $tests ]] || { echo "build the tests first: cmake --build $build --target module_test" >&2; exit 2; }

version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$ngx_src/src/core/nginx.h")
[[ -n $version ]] || { echo "$ngx_src is not an nginx source tree" >&2; exit 2; }
out=${COMPAT_DIR:-/tmp/cutover-compat}/$version
rm -rf "$out"
mkdir -p "$out"
cp -r "$ngx_src" "$out/nginx"
cd "$out/nginx"
configure=./configure
[[ -x $configure ]] || configure=auto/configure

# What the tests use (auth_request, SSL for the session wrappers, threads),
# with --with-compat like distribution builds.
echo "nginx $version: configuring and building in $out" >&2
"$configure" --prefix="$out/prefix" --with-compat --with-threads --with-http_ssl_module \
  --with-http_auth_request_module --with-http_v2_module \
  --add-dynamic-module="$src_root/ngx_module" >"$out/configure.log" 2>&1 ||
  { tail -30 "$out/configure.log"; exit 1; }
make -j"${JOBS:-2}" >"$out/make.log" 2>&1 || { tail -40 "$out/make.log"; exit 1; }
binary=$out/nginx/objs/nginx
module=$out/nginx/objs/ngx_http_cutover_module.so
"$binary" -v

bash "$src_root/tests/ngx_module/exports_test.sh" "$module"

set +e
CUTOVER_NGINX_BINARY=$binary CUTOVER_MODULE_PATH=$module "$tests" \
  --gtest_output="xml:$out/module_test.xml" "$@" >"$out/module_test.log" 2>&1
rc=$?
set -e
total=$(grep -o 'tests="[0-9]*"' "$out/module_test.xml" | head -1 | tr -dc 0-9)
failed=$(grep -o 'failures="[0-9]*"' "$out/module_test.xml" | head -1 | tr -dc 0-9)
errors=$(grep -o 'errors="[0-9]*"' "$out/module_test.xml" | head -1 | tr -dc 0-9)
failed=$((failed + errors))
echo "nginx $version: $total tests, $((total - failed)) passed, $failed failed (log: $out/module_test.log)"
[[ $rc -eq 0 ]] || grep -E '^\[  FAILED  \]' "$out/module_test.log" | sort -u >&2
exit $rc
