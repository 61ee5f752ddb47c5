#!/usr/bin/env bash
# Installs the Debian 12 packages cutover builds, tests and runs with.
# Shared by scripts/test.sh, scripts/demo.sh, .ci/run and the docker/ images,
# so what CI proves is what the images get.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  nginx nginx-dev
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libpq-dev postgresql-15
  libgtest-dev libgmock-dev
  prometheus-cpp-dev libyaml-cpp-dev libsqlite3-dev libcurl4-openssl-dev
  libcpp-httplib-dev nlohmann-json3-dev libre2-dev
  wrk curl procps iproute2 openssl python3 bc valgrind file clang-format
  # The fuzz targets (tests/fuzz, scripts/fuzz.sh): clang with libFuzzer and
  # the sanitizer runtimes, llvm-symbolizer for readable reports; the tree
  # must build with clang as well as GCC.
  clang-14 libclang-rt-14-dev llvm-14
  # packages: debhelper builds them, help2man the manual pages, lintian checks them
  debhelper help2man lintian
  # checks of conf/ and docker/: promtool (Prometheus rules and config),
  # docker-compose 1.29 (the compose file; no engine needed to validate it)
  prometheus docker-compose
  chromium  # the web view's browser test (tests/integration/web_view_test.cpp), headless
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged nginx, Prometheus and a PostgreSQL cluster on
# install; the tests and the demo run their own on free ports, so stop the
# system ones.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl stop nginx prometheus 2>/dev/null || true
fi
