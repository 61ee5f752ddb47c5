#!/usr/bin/env bash
# Side-by-side benchmark of the cutover balancer against stock nginx round
# robin, on the same nginx binary and the same backends, in one run:
#   1. throughput and p99: wrk against a stock `upstream` (2 servers, round
#      robin) and against a `cutover` upstream at 50% (1 server per slot),
#      alternating ROUNDS times; prints each pair and the ratio of medians.
#   2. live weight changes: CHANGES stores through the state-file API during
#      a wrk run, beside CHANGES config rewrites + reloads during another.
# Usage: bench/module_bench.sh [BUILD_DIR]   (env: ROUNDS, DURATION, CONNS, CHANGES)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)  # absolute: nginx runs elsewhere
ROUNDS=${ROUNDS:-9}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
CHANGES=${CHANGES:-1000}
module=$build/ngx_module/ngx_http_cutover_module.so
flipper=$build/bench/cutover-bench-weights
[[ -f $module && -x $flipper ]] || { echo "build first: cmake --build $build" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 500); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.02; done; return 1; }

B1=$(free_port); B2=$(free_port); STOCK=$(free_port); CUT=$(free_port); RELOADED=$(free_port)

# Backends: a separate nginx answering from memory, so the proxy is what is measured.
mkdir -p "$work/backends/logs" "$work/proxy/logs"
cat >"$work/backends/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $work/backends/logs/nginx.pid; error_log $work/backends/logs/error.log;
events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:$B1; keepalive_requests 100000; location / { return 200 "blue\n"; } }
  server { listen 127.0.0.1:$B2; keepalive_requests 100000; location / { return 200 "green\n"; } }
}
CONF
# The proxy under test gets CPU 0 to itself; backends and wrk share CPU 1.
PROXY_CPU=${PROXY_CPU:-0}; LOAD_CPU=${LOAD_CPU:-1}
taskset -c "$LOAD_CPU" nginx -p "$work/backends/" -c "$work/backends/nginx.conf" & pids+=($!)

proxy_conf() {  # $1: weight for the reloaded cutover
  cat <<CONF
load_module $module;
daemon off; worker_processes 1; pid $work/proxy/logs/nginx.pid; error_log $work/proxy/logs/error.log;
events { worker_connections 4096; }
http { access_log off;
  upstream stock { server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 64; }
  upstream app_blue { server 127.0.0.1:$B1; keepalive 64; }
  upstream app_green { server 127.0.0.1:$B2; keepalive 64; }
  upstream app { cutover blue=app_blue green=app_green weight=50; }
  upstream reloaded { server 127.0.0.1:$B1 weight=$((100 - $1)); server 127.0.0.1:$B2 weight=$(($1 > 0 ? $1 : 1)); keepalive 64; }
  proxy_http_version 1.1; proxy_set_header Connection "";
  server { listen 127.0.0.1:$STOCK; location / { proxy_pass http://stock; } }
  server { listen 127.0.0.1:$CUT; location / { proxy_pass http://app; } }
  server { listen 127.0.0.1:$RELOADED; location / { proxy_pass http://reloaded; } }
}
CONF
}
proxy_conf 50 >"$work/proxy/nginx.conf"
taskset -c "$PROXY_CPU" nginx -p "$work/proxy/" -c "$work/proxy/nginx.conf" & proxy_pid=$!; pids+=($proxy_pid)
for p in $B1 $B2 $STOCK $CUT $RELOADED; do wait_port "$p"; done

run_wrk() {  # port -> "rps p99_ms non2xx socket_errors"
  local out
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${2:-$DURATION}"s --latency "http://127.0.0.1:$1/")
  local rps p99 non2xx errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  errs=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out"); errs=${errs:-0}
  echo "$rps $p99 $non2xx $errs"
}

echo "== throughput: stock round robin vs cutover at 50% (wrk -t1 -c$CONNS -d${DURATION}s, $ROUNDS rounds, 1 proxy worker)"
run_wrk "$STOCK" 2 >/dev/null; run_wrk "$CUT" 2 >/dev/null  # warm up both
stock_rps=(); cut_rps=(); stock_p99=(); cut_p99=(); ratios=()
for i in $(seq "$ROUNDS"); do
  read -r s_rps s_p99 _ _ < <(run_wrk "$STOCK")
  read -r c_rps c_p99 _ _ < <(run_wrk "$CUT")
  stock_rps+=("$s_rps"); cut_rps+=("$c_rps"); stock_p99+=("$s_p99"); cut_p99+=("$c_p99")
  ratios+=("$(echo "$c_rps / $s_rps" | bc -l)")
  printf "round %d: stock %10.0f rps p99 %6.2f ms | cutover %10.0f rps p99 %6.2f ms | ratio %.3f\n" \
    "$i" "$s_rps" "$s_p99" "$c_rps" "$c_p99" "$(echo "$c_rps / $s_rps" | bc -l)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms=$(median "${stock_rps[@]}"); mc=$(median "${cut_rps[@]}")
printf "median: stock %.0f rps (p99 %s ms), cutover %.0f rps (p99 %s ms)\n" \
  "$ms" "$(median "${stock_p99[@]}")" "$mc" "$(median "${cut_p99[@]}")"
printf "cutover/stock throughput: median of per-round ratios %.3f (ratio of medians %.3f)\n" \
  "$(median "${ratios[@]}")" "$(echo "$mc / $ms" | bc -l)"

echo "== $CHANGES weight changes through the state-file API during a wrk run"
interval_us=$((DURATION * 1000000 / CHANGES))
"$flipper" "$work/proxy/logs/cutover.state" app "$CHANGES" 2000,8000 "$interval_us" & flip=$!
read -r rps p99 non2xx errs < <(run_wrk "$CUT" "$((DURATION + 1))")
wait "$flip"
printf "api:    %d changes, %.0f rps, p99 %s ms, non-2xx %s, socket errors %s\n" "$CHANGES" "$rps" "$p99" "$non2xx" "$errs"

echo "== $CHANGES weight changes by rewriting the config and reloading, during a wrk run"
reloader() {
  for i in $(seq "$CHANGES"); do
    proxy_conf $((i % 2 ? 20 : 80)) | sed 's/error_log \([^;]*\);/error_log \1 notice;/' >"$work/proxy/nginx.conf"
    local before
    before=$(grep -c "start worker process" "$work/proxy/logs/error.log" || true)
    kill -HUP "$proxy_pid"
    # wait until the master has started this generation's worker
    for _ in $(seq 400); do
      [[ $(grep -c "start worker process" "$work/proxy/logs/error.log" || true) -gt $before ]] && break
      sleep 0.005
    done
  done
}
start=$(date +%s.%N)
( taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d600s --latency "http://127.0.0.1:$RELOADED/" >"$work/wrk-reload.txt" ) & wrk_pid=$!
reloader
kill -INT "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true
elapsed=$(echo "$(date +%s.%N) - $start" | bc -l)
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-reload.txt"); non2xx=${non2xx:-0}
errs=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' "$work/wrk-reload.txt"); errs=${errs:-0}
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-reload.txt")
printf "reload: %d changes in %.1f s, %.0f rps, non-2xx %s, socket errors %s\n" "$CHANGES" "$elapsed" "${rps:-0}" "$non2xx" "$errs"
