#!/usr/bin/env bash
# Import benchmark: a generated Claude Code session file of --size-mib (default 100) uploaded to
# /api/v1/import of the app running as its own process, against a fresh Azurite on free ports.
# Prints lines/s, MiB/s and the app's peak RSS; exits non-zero when the counts are not exact.
#   scripts/bench-import.sh [--size-mib 100]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

as_install_azurite
data="$AS_ROOT/.data/bench-import-$(date +%Y%m%d-%H%M%S)-$$"
blob=$(as_free_port); queue=$(as_free_port); table=$(as_free_port)
# Azurite starts only through as_start_azurite (scripts/lib.sh): bound to 127.0.0.1, --disableTelemetry, data on disk; as_stop_azurite stops it with SIGTERM.
as_start_azurite "$data" "$blob" "$queue" "$table"; azurite_pid=$AS_AZURITE_PID
finish() { as_stop_azurite "$azurite_pid"; rm -rf "$data"; }
trap finish EXIT

as_log "Building the app and the benchmark (Release)"
dotnet build src/Functions/AgentSpend.Functions.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet build tools/AgentSpend.Bench/AgentSpend.Bench.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet tools/AgentSpend.Bench/bin/Release/net10.0/AgentSpend.Bench.dll import \
  --app-dll src/Functions/bin/Release/net10.0/AgentSpend.Functions.dll \
  --connection-string "$(as_connection_string "$blob" "$queue" "$table")" "$@"
