#!/usr/bin/env bash
# The module exports exactly what nginx looks up in a dynamic module: its
# ngx_module_t and the ngx_modules tables. Everything else is hidden, so two
# modules can never resolve each other's C++ symbols. AddressSanitizer's
# one-definition-rule indicators (__odr_asan.NAME, one per exported global,
# in scripts/sanitize.sh's build) are the instrumentation's, not the module's.
#   exports_test.sh MODULE.so [MODULE.so...]
set -euo pipefail
want=$'ngx_http_cutover_module\nngx_module_names\nngx_module_order\nngx_modules'
for so in "$@"; do
  got=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_init$\|^_fini$\|^__odr_asan\.' | sort)
  if [[ "$got" != "$want" ]]; then
    echo "$so exports:"; echo "$got"; echo "expected:"; echo "$want"
    exit 1
  fi
done
echo "exports: ok"
