#!/usr/bin/env bash
# Makes the Debian packages of a cmake build tree the Debian way, without
# compiling anything again: packaging/debian is staged as a source package
# and debhelper's `dh binary` installs the tree (cmake --install), strips the
# binaries into -dbgsym packages, writes the maintainer scripts (dh_nginx,
# dh_installsystemd), computes the dependencies (the nginx ABI, shlibs) and
# builds the .debs.
#   packaging/build-debs.sh BUILD_DIR OUT_DIR
# OUT_DIR gets libnginx-mod-http-cutover_*.deb, cutover_*.deb and their
# -dbgsym_*.ddeb; lintian can check them there.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BUILD_DIR OUT_DIR" >&2
  exit 2
fi
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(cd "$1" && pwd)
mkdir -p "$2"
out_dir=$(cd "$2" && pwd)

for f in cutover-agent cutoverctl; do
  [[ -x "$build_dir/agent/$f" || -x "$build_dir/agent/cli/$f" ]] || {
    echo "build-debs: $build_dir has no $f: build it first (cmake --build $1)" >&2
    exit 1
  }
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/cutover-debs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
version=$(dpkg-parsechangelog -l "$source_dir/packaging/debian/changelog" -S Version)
tree="$stage/cutover-$version"
mkdir -p "$tree"
cp -a "$source_dir/packaging/debian" "$tree/debian"

(cd "$tree" && CUTOVER_BUILD_DIR="$build_dir" DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}" \
  dh binary)

shopt -s nullglob
built=("$stage"/*.deb "$stage"/*.ddeb)
if ((${#built[@]} == 0)); then
  echo "build-debs: dh built no package" >&2
  exit 1
fi
rm -f "$out_dir"/*.deb "$out_dir"/*.ddeb
mv "${built[@]}" "$out_dir/"
ls -1 "$out_dir"
