#!/usr/bin/env bash
# scripts/soak.sh --minutes N [--no-faults] [--seed S] [--resend-pct 20] [--native-batch 200] [--native-interval 5]
#                 [--drain-seconds 300] [--max-data-mib 250] [--no-build] [--keep-data]
#
# The soak under faults (issue 15, "Nothing accepted is ever lost"). On a fresh Azurite (free ports, data in
# .data/soak-<time>/azurite) it runs two app instances, each its own process from the Functions build output on a
# port of its own, both aggregating, and for N minutes (default 2) sends them a mixed load, retried until accepted:
# native batches with ~20 % resent events and batches without idempotency keys, Claude Code's OTLP logs and
# metrics (tests/Fixtures, moved to recent days, new ids per send, some sent twice), a session file imported again
# each time it grows, and reserving checks against a block budget. Meanwhile it SIGKILLs an instance every 30-60 s
# (seeded, printed) and restarts it, and once stops Azurite with SIGTERM for ~10 s and starts it again on the same
# ports and data folder. Then it waits for the queue to drain and compares every total with its own oracle (events,
# each token kind and cost, per workspace, day, agent and agent-day), checks that the poison queues are empty and
# that no reservation outlives its TTL, and prints its figures ("soak: ..." lines). Exits non-zero on any mismatch
# or leftover. --no-faults: the same load without kills or outage (to check the oracle itself).
#
# The instances' logs are kept in .data/soak-<time>/logs when the soak fails (and Azurite's data too with
# --keep-data, to look into); everything is removed when it passes.
#
# Used by the soak tool as its hook to Azurite (scripts/lib.sh does the work):
#   scripts/soak.sh --azurite-start DATA BLOB QUEUE TABLE PIDFILE    starts it, waits until it listens
#   scripts/soak.sh --azurite-stop PIDFILE                           SIGTERM, waits until it has exited
set -euo pipefail
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
  # Azurite starts only through as_start_azurite (scripts/lib.sh): bound to 127.0.0.1, --disableTelemetry, data on disk; as_stop_azurite stops it with SIGTERM.
  --azurite-start)
    as_start_azurite "$2" "$3" "$4" "$5"
    echo "$AS_AZURITE_PID" >"$6"
    exit 0 ;;
  --azurite-stop)
    pid="$(cat "$2")"
    as_stop_azurite "$pid"
    if kill -0 "$pid" 2>/dev/null; then exit 1; fi
    exit 0 ;;
esac

cd "$AS_ROOT"
build=1
keep_data=0
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --keep-data) keep_data=1 ;;
    *) args+=("$arg") ;;
  esac
done

as_install_azurite
run="$AS_ROOT/.data/soak-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run/logs"
blob=$(as_free_port); queue=$(as_free_port); table=$(as_free_port)
status=1
finish() {
  # Instances the tool left running (it stops them itself unless it was killed): by their PIDs, if still the app.
  if [ -f "$run/logs/instances.pid" ]; then
    while read -r pid; do
      if [ -n "$pid" ] && grep -qs AgentSpend.Functions.dll "/proc/$pid/cmdline"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done <"$run/logs/instances.pid"
  fi
  [ -f "$run/azurite.pid" ] && as_stop_azurite "$(cat "$run/azurite.pid")"
  if [ "$status" -eq 0 ]; then
    rm -rf "$run"
  elif [ "$keep_data" -eq 1 ]; then
    as_log "soak failed: the instances' logs are in ${run#"$AS_ROOT"/}/logs, Azurite's data in ${run#"$AS_ROOT"/}/azurite"
  else
    rm -rf "$run/azurite"; as_log "soak failed: the instances' logs are in ${run#"$AS_ROOT"/}/logs"
  fi
}
trap finish EXIT
"$0" --azurite-start "$run/azurite" "$blob" "$queue" "$table" "$run/azurite.pid"

if [ "$build" -eq 1 ]; then
  as_log "Building the app and the soak (Release)"
  dotnet build src/Functions/AgentSpend.Functions.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
  dotnet build tools/AgentSpend.Soak/AgentSpend.Soak.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
fi

set +e
dotnet tools/AgentSpend.Soak/bin/Release/net10.0/AgentSpend.Soak.dll \
  --app-dir "$AS_ROOT/src/Functions/bin/Release/net10.0" \
  --connection-string "$(as_connection_string "$blob" "$queue" "$table")" \
  --azurite-hook "$AS_ROOT/scripts/soak.sh" --azurite-data "$run/azurite" --azurite-ports "$blob,$queue,$table" \
  --azurite-pid-file "$run/azurite.pid" --log-dir "$run/logs" ${args[@]+"${args[@]}"}
status=$?
set -e
exit "$status"
