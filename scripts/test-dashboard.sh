#!/usr/bin/env bash
# The dashboard's browser tests: installs Debian's chromium when missing, starts Azurite and the built app on
# free loopback ports with their own data folder, then runs src/Dashboard/e2e with Node's test runner, which
# seeds a workspace through the ingest API and drives the pages in headless Chromium (playwright-core).
# Expects the dashboard and the app built (scripts/test.sh does both first). Screenshots and timings go to
# artifacts/dashboard/; the TAP report to $AS_DASHBOARD_TAP (default artifacts/dashboard/e2e.tap).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

as_require_tools
as_install_chromium
as_install_azurite
app_dll="$AS_ROOT/src/Functions/bin/Release/net10.0/AgentSpend.Functions.dll"
[ -f "$app_dll" ] || { as_log "The app is not built ($app_dll): run scripts/test.sh, or dotnet build -c Release"; exit 1; }
[ -f "$AS_DASHBOARD_DIR/dist/index.html" ] || as_build_dashboard

artifacts="$AS_ROOT/artifacts/dashboard"
mkdir -p "$artifacts" "$AS_ROOT/.data"
tap="${AS_DASHBOARD_TAP:-$artifacts/e2e.tap}"
data="$(mktemp -d "$AS_ROOT/.data/dashboard-e2e-XXXXXX")"
blob=$(as_free_port); queue=$(as_free_port); table=$(as_free_port); port=$(as_free_port)
app_pid=""
finish() {
  [ -n "$app_pid" ] && kill -TERM "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  as_stop_azurite
  rm -rf "$data"
}
trap finish EXIT

# Azurite starts only through as_start_azurite (scripts/lib.sh): bound to 127.0.0.1, --disableTelemetry, data on disk; as_stop_azurite stops it with SIGTERM.
as_start_azurite "$data/azurite" "$blob" "$queue" "$table"
# An instance-admin key of this run only; the tests make narrower keys with it.
admin_key="as_default_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | head -c 43)"
# A timezone other than UTC, so the pages' local days and hours are tested as such.
AzureWebJobsStorage="$(as_connection_string "$blob" "$queue" "$table")" AGENTSPEND_ADMIN_KEY="$admin_key" \
  AGENTSPEND_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" \
  AGENTSPEND_TIMEZONE="${AGENTSPEND_E2E_TIMEZONE:-Europe/Berlin}" \
  dotnet "$app_dll" --urls "http://127.0.0.1:$port" >"$data/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$data/app.log" >&2; as_log "The app exited during start-up"; exit 1; }
  sleep 0.2
done

as_log "Browser tests: the app on http://127.0.0.1:$port, headless /usr/bin/chromium"
set +e
(cd "$AS_DASHBOARD_DIR" && AGENTSPEND_URL="http://127.0.0.1:$port" AGENTSPEND_KEY="$admin_key" AGENTSPEND_ARTIFACTS="$artifacts" \
  node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" e2e/)
status=$?
set -e
if [ "$status" -ne 0 ]; then as_log "Browser tests failed; the app's last lines:"; tail -n 30 "$data/app.log" >&2; fi
exit "$status"
