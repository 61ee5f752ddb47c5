#!/usr/bin/env bash
# ngx_module/config works with nginx's own build: configure Debian's nginx
# tree with its flags plus --add-dynamic-module, `make modules` (gnu++17,
# -Werror), then load the resulting .so with nginx -t and check that it
# exports only what nginx looks up.
set -euo pipefail
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r /usr/share/nginx/src "$work/nginx"
cd "$work/nginx"
source ./conf_flags
./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$src_dir/ngx_module" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
make -f objs/Makefile modules >"$work/make.log" 2>&1 || { cat "$work/make.log"; exit 1; }
mkdir -p "$work/prefix/logs"
cat >"$work/prefix/nginx.conf" <<CONF
load_module $work/nginx/objs/ngx_http_cutover_module.so;
error_log $work/prefix/logs/error.log;
pid $work/prefix/logs/nginx.pid;
events {}
http {
  access_log off;
  upstream b { server 127.0.0.1:1; }
  upstream g { server 127.0.0.1:2; }
  upstream app { cutover blue=b green=g weight=5; }
  server { listen 127.0.0.1:1; location / { proxy_pass http://app; } }
}
CONF
/usr/sbin/nginx -t -p "$work/prefix/" -c "$work/prefix/nginx.conf"
bash "$src_dir/tests/ngx_module/exports_test.sh" "$work/nginx/objs/ngx_http_cutover_module.so"
echo "source build: ok"
