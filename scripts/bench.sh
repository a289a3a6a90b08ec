#!/usr/bin/env bash
# scripts/bench.sh check [--checks 60000] [--check-clients 64]: the pre-flight check benchmark instead: 100
# block budgets in force, --check-clients concurrent clients sending --checks checks flat out (checks/s, p50/p99),
# then the same clients paced at 3,000 checks/s for 10 s (a warm-up run, then the measured one, each check timed
# from when it was due), then GET /api/health paced the same way as the floor this machine sets.
#
# End-to-end benchmark against a fresh Azurite on free ports. Options pass through to the benchmark:
#   scripts/bench.sh [--workload uniform|realistic] [--events 200000] [--days 30] [--agents 50] [--models 10] [--batch 1000]
#                    [--concurrency 8] [--raw-entities 20000] [--raw-concurrency 4] [--query-iterations 200]
# After the totals check it times metrics queries over the ingested data: per endpoint 5 warm-up requests,
# then --query-iterations sequential ones (> 0); prints p50/p95/max. A non-200 answer fails the run; a
# missed p95 target is only reported.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

as_install_azurite
as_log "Building the benchmark (Release)"
dotnet build tools/AgentSpend.Bench/AgentSpend.Bench.csproj -c Release -nologo -v quiet -clp:ErrorsOnly

# One run on fresh Azurites: one for the raw insert figures, one for the app, so neither measurement taxes the other.
run_once() {
  local data="$AS_ROOT/.data/bench-$(date +%Y%m%d-%H%M%S)-$RANDOM"
  local rblob rqueue rtable blob queue table raw_pid app_pid status=0
  rblob=$(as_free_port); rqueue=$(as_free_port); rtable=$(as_free_port)
  # Azurite starts only through as_start_azurite (scripts/lib.sh): bound to 127.0.0.1, --disableTelemetry, data on disk; as_stop_azurite stops it with SIGTERM.
  as_start_azurite "$data/raw" "$rblob" "$rqueue" "$rtable"; raw_pid=$AS_AZURITE_PID
  blob=$(as_free_port); queue=$(as_free_port); table=$(as_free_port)
  as_start_azurite "$data/app" "$blob" "$queue" "$table"; app_pid=$AS_AZURITE_PID
  trap 'as_stop_azurite "$raw_pid"; as_stop_azurite "$app_pid"; rm -rf "$data"' EXIT
  dotnet tools/AgentSpend.Bench/bin/Release/net10.0/AgentSpend.Bench.dll \
    --connection-string "$(as_connection_string "$blob" "$queue" "$table")" \
    --raw-connection-string "$(as_connection_string "$rblob" "$rqueue" "$rtable")" "$@" || status=$?
  as_stop_azurite "$raw_pid"; as_stop_azurite "$app_pid"; rm -rf "$data"; trap - EXIT
  return "$status"
}

# Both workloads unless one (or the check benchmark) is named.
case " $* " in
  *" check "*|*" --workload "*) run_once "$@" ;;
  *) status=0
     run_once --workload uniform "$@" || status=$?
     run_once --workload realistic "$@" || status=$?
     exit "$status" ;;
esac
