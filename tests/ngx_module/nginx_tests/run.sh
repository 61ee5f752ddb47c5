#!/usr/bin/env bash
# Runs nginx's own tests (github.com/nginx/nginx-tests) against Debian's
# nginx with the module loaded, first plain, then with every upstream put
# behind a cutover at weight 0 and 100, failover on and off
# (CutoverWrap.pm), and prints each run's result next to the plain one.
#
#   tests/ngx_module/nginx_tests/run.sh NGINX_TESTS_DIR [MODULE.so] [TEST.t...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=$(cd "${1:?usage: run.sh NGINX_TESTS_DIR [MODULE.so] [TEST.t...]}" && pwd)
module=${2:-$here/../../../build/ngx_module/ngx_http_cutover_module.so}
shift 2 2>/dev/null || shift $#
tests=("$@")
((${#tests[@]})) || tests=(proxy_next_upstream.t proxy_next_upstream_tries.t upstream.t
  upstream_hash.t upstream_ip_hash.t upstream_least_conn.t upstream_random.t
  upstream_max_conns.t upstream_zone.t)
# (upstream_keepalive.t and grpc_next_upstream.t fail with plain nginx here, module or not.)
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}  # one without dynamic modules of its own
status=0
summary() { perl -ne 'print "$1\n" if /^(Result: \S+|Files=.*Tests=\d+)/' ; }
for t in "${tests[@]}"; do
  plain=$(cd "$suite" && TEST_NGINX_GLOBALS="load_module $module;" prove "$t" 2>&1)
  echo "$t plain+module: $(echo "$plain" | grep -E '^Result:')"
  for weight in 0 100; do
    for failover in on off; do
      out=$(cd "$suite" && CUTOVER_MODULE=$module CUTOVER_WEIGHT=$weight CUTOVER_FAILOVER=$failover \
        perl -I "$suite/lib" -I "$here" -MCutoverWrap "$t" 2>&1)
      failed=$(echo "$out" | grep -cE '^not ok' || true)
      todo_ok=$(echo "$out" | grep -E '^not ok' | grep -c '# TODO' || true)
      echo "$t weight=$weight failover=$failover: $(echo "$out" | grep -cE '^ok') ok, $((failed - todo_ok)) not ok"
      if ((failed - todo_ok > 0)); then
        status=1
        echo "$out" | grep -E '^not ok' | grep -v '# TODO' | sed 's/^/    /'
      fi
    done
  done
done
exit $status
