#!/usr/bin/env bash
# Instructions per proxied request, stock round robin vs a cutover upstream
# at 50%, counted by callgrind in one single-process nginx: a figure that
# does not move with whatever else the machine is doing.
# Usage: bench/module_instructions.sh [BUILD_DIR]   (env: REQUESTS)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)  # absolute: nginx runs elsewhere
REQUESTS=${REQUESTS:-5000}
module=$build/ngx_module/ngx_http_cutover_module.so
[[ -f $module ]] || { echo "build first" >&2; exit 2; }
for t in valgrind callgrind_control curl; do command -v $t >/dev/null || { echo "$t is missing" >&2; exit 2; }; done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 3000); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.02; done; return 1; }

B1=$(free_port); B2=$(free_port); STOCK=$(free_port); CUT=$(free_port)
mkdir -p "$work/b/logs" "$work/p/logs"
cat >"$work/b/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $work/b/logs/nginx.pid; error_log $work/b/logs/error.log;
events {}
http { access_log off;
  server { listen 127.0.0.1:$B1; location / { return 200 "blue\n"; } }
  server { listen 127.0.0.1:$B2; location / { return 200 "green\n"; } } }
CONF
nginx -p "$work/b/" -c "$work/b/nginx.conf" & pids+=($!)
cat >"$work/p/nginx.conf" <<CONF
load_module $module;
daemon off; master_process off; pid $work/p/logs/nginx.pid; error_log $work/p/logs/error.log;
events {}
http { access_log off;
  upstream stock { server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 8; }
  upstream app_blue { server 127.0.0.1:$B1; keepalive 8; }
  upstream app_green { server 127.0.0.1:$B2; keepalive 8; }
  upstream app { cutover blue=app_blue green=app_green weight=50; }
  proxy_http_version 1.1; proxy_set_header Connection "";
  server { listen 127.0.0.1:$STOCK; keepalive_requests 1000000; location / { proxy_pass http://stock; } }
  server { listen 127.0.0.1:$CUT; keepalive_requests 1000000; location / { proxy_pass http://app; } } }
CONF
cd "$work"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.%p" \
  nginx -p "$work/p/" -c "$work/p/nginx.conf" 2>"$work/valgrind.log" & vg=$!; pids+=($vg)
wait_port "$B1"; wait_port "$STOCK"; wait_port "$CUT"

measure() {  # port label -> instructions per request
  local urls=()
  for _ in $(seq "$REQUESTS"); do urls+=("http://127.0.0.1:$1/"); done
  curl -s -o /dev/null "http://127.0.0.1:$1/"  # warm: connections and caches
  callgrind_control -z "$vg" >/dev/null
  callgrind_control -i on "$vg" >/dev/null
  printf 'url = "%s"\noutput = "/dev/null"\n' "${urls[@]}" | curl -s -K - >/dev/null
  callgrind_control -i off "$vg" >/dev/null
  callgrind_control -d "$2" "$vg" >/dev/null
  local file
  file=$(ls -t "$work"/cg.* | head -1)
  local ir
  ir=$(awk '/^totals:/ {print $2}' "$file")
  echo $((ir / REQUESTS))
}
stock=$(measure "$STOCK" stock)
cut=$(measure "$CUT" cutover)
printf "instructions per proxied request (callgrind, %d keep-alive requests each, one nginx process):\n" "$REQUESTS"
printf "  stock round robin: %d\n  cutover at 50%%:    %d\n  cutover/stock:     %.3f (+%d instructions)\n" \
  "$stock" "$cut" "$(echo "$cut / $stock" | bc -l)" $((cut - stock))
