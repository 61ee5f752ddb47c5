#!/usr/bin/env bash
# Every C++ file git tracks is as clang-format (the repo's .clang-format,
# Debian 12's clang-format 14) would write it. Prints the ones that are not.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format is not installed" >&2; exit 1; }
bad=()
while IFS= read -r -d '' f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files -z -- '*.cpp' '*.hpp' '*.h' '*.cc')
if ((${#bad[@]})); then
  printf 'check-format: not clang-formatted (run clang-format -i on them):\n' >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: ok"
