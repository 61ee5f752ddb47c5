#!/usr/bin/env bash
# The agent's libraries include only what their layer may use, as the build
# links them (agent/CMakeLists.txt):
#   core    <- engine <- server <- http, notify, fleet
#   journal, gates, analysis, sync: on core;  cli: on core (never the server)
# A header of a higher layer included from a lower one fails this check even
# where it would still compile.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [core]="core"
  [journal]="core journal"
  [gates]="core gates"
  [analysis]="core analysis"
  [sync]="core sync"
  [engine]="core engine"
  [server]="core engine journal gates analysis sync server"
  [http]="core engine journal gates analysis server http"
  [notify]="core engine journal gates analysis server notify"
  [fleet]="core engine journal gates analysis server fleet"
  [cli]="core cli"
)
status=0
for lib in "${!allowed[@]}"; do
  while IFS= read -r line; do
    file=${line%%:*}
    dep=$(sed -E 's/.*#include "agent\/([a-z_]+)\/.*/\1/' <<<"$line")
    if [[ " ${allowed[$lib]} " != *" $dep "* ]]; then
      echo "check-layering: $file ($lib) includes agent/$dep/: not allowed for $lib" >&2
      status=1
    fi
  done < <(grep -rHE '^#include "agent/[a-z_]+/' "agent/$lib" || true)
done
# Nothing below agent/ reaches into the tests, and the module never into the agent.
if grep -rqE '#include "(support|agent)/' ngx_module include 2>/dev/null; then
  echo "check-layering: ngx_module/ or include/ includes agent or test code" >&2
  status=1
fi
((status == 0)) && echo "check-layering: ok"
exit $status
