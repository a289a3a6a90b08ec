#!/usr/bin/env bash
# Runs AgentSpend locally: installs and starts Azurite (unless AzureWebJobsStorage is set), builds the
# app and starts it standalone on http://127.0.0.1:${AGENTSPEND_PORT:-7071}. Ctrl-C stops both.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

port="${AGENTSPEND_PORT:-7071}"
as_require_tools

azurite_pid=""
app_pid=""
cleanup() {
  trap - INT TERM EXIT
  [ -n "$app_pid" ] && kill -TERM "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  [ -n "$azurite_pid" ] && as_stop_azurite "$azurite_pid"
  as_log "stopped"
}
trap cleanup INT TERM EXIT

if [ -z "${AzureWebJobsStorage:-}" ] && [ -z "${AzureWebJobsStorage__accountName:-}" ] && [ -z "${AzureWebJobsStorage__tableServiceUri:-}" ]; then
  as_install_azurite
  blob="${AZURITE_BLOB_PORT:-10000}"; queue="${AZURITE_QUEUE_PORT:-10001}"; table="${AZURITE_TABLE_PORT:-10002}"
  as_log "Starting Azurite on 127.0.0.1:$blob/$queue/$table, data in ${AGENTSPEND_DATA_DIR:-.data/azurite}"
  # Azurite starts only through as_start_azurite (scripts/lib.sh): bound to 127.0.0.1, --disableTelemetry, data on disk; as_stop_azurite stops it with SIGTERM.
  as_start_azurite "${AGENTSPEND_DATA_DIR:-$AS_ROOT/.data/azurite}" "$blob" "$queue" "$table"
  azurite_pid="$AS_AZURITE_PID"
  export AzureWebJobsStorage
  AzureWebJobsStorage="$(as_connection_string "$blob" "$queue" "$table")"
else
  as_log "Using the storage named by AzureWebJobsStorage; not starting Azurite"
fi

# Webhook URLs and secrets are stored encrypted with this key, kept outside the storage it protects (in Azure: Key Vault).
if [ -z "${AGENTSPEND_SECRET_KEY:-}" ] && [ -z "${AGENTSPEND_KEY_VAULT_URI:-}" ]; then
  key_file="${AGENTSPEND_SECRET_KEY_FILE:-$AS_ROOT/.data/secret-key}"
  if [ ! -s "$key_file" ]; then
    mkdir -p "$(dirname "$key_file")"
    (umask 077 && head -c 32 /dev/urandom | base64 >"$key_file")
    as_log "Generated the local key that encrypts stored secrets: $key_file (keep it; without it stored webhooks cannot post)"
  fi
  export AGENTSPEND_SECRET_KEY
  AGENTSPEND_SECRET_KEY="$(cat "$key_file")"
fi

as_build_dashboard
as_log "Building the app"
dotnet build "$AS_ROOT/src/Functions/AgentSpend.Functions.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly

as_log "AgentSpend: http://127.0.0.1:$port (dashboard: http://127.0.0.1:$port/dashboard; health: http://127.0.0.1:$port/api/health). Ctrl-C stops."
as_log "On the first run the admin key is printed once below; set AGENTSPEND_ADMIN_KEY to choose your own."
dotnet "$AS_ROOT/src/Functions/bin/Release/net10.0/AgentSpend.Functions.dll" --urls "http://127.0.0.1:$port" &
app_pid=$!
wait "$app_pid"
