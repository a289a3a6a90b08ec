# Shared by run.sh, test.sh, bench.sh and publish steps. Source it; it defines functions only.
# shellcheck shell=bash

AS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AS_TOOLS="$AS_ROOT/.tools"
AS_AZURITE_DIR="$AS_TOOLS/azurite"
AS_AZURITE_JS="$AS_AZURITE_DIR/node_modules/azurite/dist/src/azurite.js"
# Azurite's well-known development account (public, documented; not a secret).
AS_DEV_ACCOUNT="devstoreaccount1"
AS_DEV_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

as_log() { printf '[agentspend] %s\n' "$*" >&2; }

as_require_tools() {
  if ! command -v dotnet >/dev/null 2>&1; then
    as_log "The .NET 10 SDK is required (dotnet not found on PATH)."; return 1
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      as_log "Installing Node.js and npm from Debian's packages (needed for Azurite)"
      apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
    else
      as_log "Node.js and npm are required for Azurite (node/npm not found on PATH)."; return 1
    fi
  fi
}

# Installs the Azurite version pinned in scripts/azurite/package-lock.json into .tools/azurite (ignored).
as_install_azurite() {
  as_require_tools
  mkdir -p "$AS_AZURITE_DIR"
  if [ -f "$AS_AZURITE_JS" ] && cmp -s "$AS_ROOT/scripts/azurite/package-lock.json" "$AS_AZURITE_DIR/package-lock.json"; then
    return 0
  fi
  as_log "Installing Azurite (pinned in scripts/azurite/package-lock.json) into .tools/azurite"
  cp "$AS_ROOT/scripts/azurite/package.json" "$AS_ROOT/scripts/azurite/package-lock.json" "$AS_AZURITE_DIR/"
  (cd "$AS_AZURITE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  [ -f "$AS_AZURITE_JS" ] || { as_log "Azurite did not install: $AS_AZURITE_JS is missing"; return 1; }
}

as_free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# as_start_azurite DATA_DIR BLOB_PORT QUEUE_PORT TABLE_PORT -> sets AS_AZURITE_PID
as_start_azurite() {
  local data="$1" blob="$2" queue="$3" table="$4"
  mkdir -p "$data"
  # --disableTelemetry always: without it Azurite contacts a cloud metadata address.
  node "$AS_AZURITE_JS" --disableTelemetry --silent --location "$data" \
    --blobHost 127.0.0.1 --blobPort "$blob" \
    --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table" \
    >"$data/azurite.log" 2>&1 &
  AS_AZURITE_PID=$!
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$table") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$queue") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$AS_AZURITE_PID" 2>/dev/null; then
      as_log "Azurite exited during start-up:"; cat "$data/azurite.log" >&2; return 1
    fi
    sleep 0.1
  done
  as_log "Azurite did not start listening within 10 s"; return 1
}

# SIGTERM, never SIGKILL: Azurite flushes its last writes on SIGTERM.
as_stop_azurite() {
  local pid="${1:-${AS_AZURITE_PID:-}}"
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    as_log "Azurite (pid $pid) still running 10 s after SIGTERM"
  fi
}

as_connection_string() {
  local blob="$1" queue="$2" table="$3"
  printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%s/%s;QueueEndpoint=http://127.0.0.1:%s/%s;TableEndpoint=http://127.0.0.1:%s/%s;' \
    "$AS_DEV_ACCOUNT" "$AS_DEV_KEY" "$blob" "$AS_DEV_ACCOUNT" "$queue" "$AS_DEV_ACCOUNT" "$table" "$AS_DEV_ACCOUNT"
}

AS_DASHBOARD_DIR="$AS_ROOT/src/Dashboard"

# Installs the dashboard's front-end packages (pinned in src/Dashboard/package-lock.json) and builds it with
# Vite into src/Dashboard/dist, which the Functions build copies to dashboard-assets/ beside the app. npm ci runs
# only when the lock file changed since the last install: it deletes node_modules first, which takes a while.
as_build_dashboard() {
  as_require_tools
  local stamp="$AS_DASHBOARD_DIR/node_modules/.agentspend-package-lock.json"
  if [ ! -f "$stamp" ] || ! cmp -s "$AS_DASHBOARD_DIR/package-lock.json" "$stamp"; then
    as_log "Installing the dashboard's packages (npm ci in src/Dashboard; versions pinned in its package-lock.json)"
    (cd "$AS_DASHBOARD_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$AS_DASHBOARD_DIR/package-lock.json" "$stamp"
  fi
  as_log "Building the dashboard (vite build in src/Dashboard -> src/Dashboard/dist)"
  (cd "$AS_DASHBOARD_DIR" && npx --no-install vite build --logLevel warn)
  [ -f "$AS_DASHBOARD_DIR/dist/index.html" ] || { as_log "The dashboard did not build: src/Dashboard/dist/index.html is missing"; return 1; }
}

# Debian's Chromium for the dashboard's browser tests (playwright-core drives it; it downloads no browser).
# The Bicep CLI from NuGet (Azure.Bicep.CommandLine.linux-x64, pinned in tools/BicepCli/BicepCli.csproj):
# restores it into the NuGet cache and sets AS_BICEP to the binary.
as_install_bicep() {
  dotnet restore "$AS_ROOT/tools/BicepCli/BicepCli.csproj" -nologo -v quiet
  local cache version
  cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
  version="$(sed -n 's/.*"Azure.Bicep.CommandLine.linux-x64" Version="\[\([0-9.]*\)\]".*/\1/p' "$AS_ROOT/tools/BicepCli/BicepCli.csproj")"
  AS_BICEP="${cache%/}/azure.bicep.commandline.linux-x64/$version/tools/bicep"
  chmod +x "$AS_BICEP"
}

# Compiles and lints every template and parameter file under infra/bicep; any warning or error fails.
as_check_bicep() {
  as_install_bicep
  local out file status=0
  out="$(mktemp)"
  for file in "$AS_ROOT"/infra/bicep/main.bicep "$AS_ROOT"/infra/bicep/modules/*.bicep; do
    "$AS_BICEP" build "$file" --stdout >/dev/null 2>>"$out" || status=1
    "$AS_BICEP" lint "$file" >>"$out" 2>&1 || status=1
  done
  # The parameter file reads the first admin key from the environment; any value of the right length will do here.
  AGENTSPEND_ADMIN_KEY="as_lint_only_not_a_real_key_0000" "$AS_BICEP" build-params "$AS_ROOT/infra/bicep/main.bicepparam" --stdout >/dev/null 2>>"$out" || status=1
  if [ -s "$out" ] || [ "$status" -ne 0 ]; then
    cat "$out" >&2; rm -f "$out"; return 1
  fi
  rm -f "$out"
}

as_install_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    as_log "Installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    as_log "The browser tests need /usr/bin/chromium (Debian package chromium); install it as root."; return 1
  fi
}
