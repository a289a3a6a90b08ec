#!/usr/bin/env bash
# scripts/test-sdks.sh [python] [typescript] [dotnet]: runs each SDK (all three by default) against the running app,
# then builds its package (wheel, npm tarball, .nupkg), installs it into a scratch project outside the repository
# and runs the quick start from the SDK's README there, as pasted.
#
# One Azurite and two app processes on it: the app (counts events, default limits) and a throttled instance (counts
# nothing itself, 1 request a second per key with a burst of 1, so that an SDK meets a real 429 and Retry-After).
# Each SDK gets a fresh workspace and these variables; its integration program prints "PASS <check>" or
# "FAIL <check>: <why>" per check:
#   AGENTSPEND_URL, AGENTSPEND_KEY (ingest), AGENTSPEND_ADMIN_KEY (the workspace's admin), AGENTSPEND_THROTTLED_URL,
#   AGENTSPEND_TEST_PREFIX.
# Ends with "sdks: N passed, N failed"; exits non-zero on any failure. AS_SDK_RESULTS names a file that gets the two
# counts ("N M") for scripts/test.sh, which also sets AS_APP_BUILT and AS_SDK_TS_BUILT when it has built the app
# (Release) and the TypeScript SDK already.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

sdks=("$@")
[ ${#sdks[@]} -gt 0 ] || sdks=(python typescript dotnet)

as_install_azurite
mkdir -p "$AS_ROOT/.data"
data="$(mktemp -d "$AS_ROOT/.data/sdks-XXXXXX")"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/agentspend-sdk-scratch-XXXXXX")" # outside the repository: no Directory.*.props, no workspace settings
blob=$(as_free_port); queue=$(as_free_port); table=$(as_free_port)
app_port=$(as_free_port); throttled_port=$(as_free_port)
pids=()
finish() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; done
  as_stop_azurite "${azurite_pid:-}"
  rm -rf "$data" "$scratch"
}
trap finish EXIT

# Azurite starts only through as_start_azurite (scripts/lib.sh): bound to 127.0.0.1, --disableTelemetry, data on disk; as_stop_azurite stops it with SIGTERM.
as_start_azurite "$data/azurite" "$blob" "$queue" "$table"; azurite_pid=$AS_AZURITE_PID
connection="$(as_connection_string "$blob" "$queue" "$table")"

if [ -z "${AS_APP_BUILT:-}" ]; then # scripts/test.sh has built it already
  as_log "Building the app (Release)"
  dotnet build src/Functions/AgentSpend.Functions.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
fi
admin_key="as_sdk_instance_admin_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
secret_key="$(head -c 32 /dev/urandom | base64)"

start_app() { # start_app PORT [NAME=VALUE...]
  local port="$1"; shift
  env AzureWebJobsStorage="$connection" AGENTSPEND_ADMIN_KEY="$admin_key" AGENTSPEND_SECRET_KEY="$secret_key" "$@" \
    dotnet src/Functions/bin/Release/net10.0/AgentSpend.Functions.dll --urls "http://127.0.0.1:$port" >"$data/app-$port.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 600); do
    grep -q "Application started" "$data/app-$port.log" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$data/app-$port.log" >&2; as_log "the app on port $port exited"; return 1; }
    sleep 0.1
  done
  as_log "the app on port $port did not start within 60 s"; return 1
}
start_app "$app_port"
start_app "$throttled_port" AGENTSPEND_LOCAL_TRIGGERS=false AGENTSPEND_KEY_RATE_PER_SECOND=1 AGENTSPEND_KEY_BURST=1
url="http://127.0.0.1:$app_port"

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
api() { # api KEY METHOD PATH [JSON]
  curl -sS --fail-with-body -X "$2" "$url$3" -H "Authorization: Bearer $1" -H "Content-Type: application/json" ${4:+-d "$4"}
}
# new_workspace NAME -> sets WS_ID, WS_ADMIN, WS_INGEST
new_workspace() {
  WS_ID=$(api "$admin_key" POST /api/v1/workspaces "{\"name\":\"$1\",\"timezone\":\"UTC\"}" | json_field id)
  WS_ADMIN=$(api "$admin_key" POST "/api/v1/workspaces/$WS_ID/keys" '{"name":"admin","scopes":["admin"]}' | json_field key)
  WS_INGEST=$(api "$WS_ADMIN" POST /api/v1/keys '{"name":"sdk","scopes":["ingest"]}' | json_field key)
}
# wait_for_events ADMIN_KEY COUNT: the workspace's overview of today counts COUNT events (60 s at most)
wait_for_events() {
  local counted=""
  for _ in $(seq 1 300); do
    counted=$(api "$1" GET "/api/v1/metrics/overview?range=today" | json_field events)
    [ "$counted" = "$2" ] && return 0
    sleep 0.2
  done
  as_log "expected $2 events counted, found $counted"; return 1
}
# readme_block FILE LANG: the first fenced code block of that language in the README
readme_block() { awk -v lang="$2" '$0 == "```" lang {on=1; next} on && /^```/ {exit} on {print}' "$1"; }

passed=0; failed=0
record() { # record OUTPUT_FILE: counts its PASS/FAIL lines
  local p f
  p=$(grep -c '^PASS ' "$1" || true); f=$(grep -c '^FAIL ' "$1" || true)
  passed=$((passed + p)); failed=$((failed + f))
}
step() { # step NAME COMMAND...: one pass or fail for a command, its output kept
  local name="$1"; shift
  if "$@" >"$data/step.out" 2>&1; then passed=$((passed + 1)); echo "PASS $name"
  else failed=$((failed + 1)); echo "FAIL $name"; tail -n 40 "$data/step.out" >&2; fi
}

run_integration() { # run_integration SDK PREFIX COMMAND...
  local sdk="$1" prefix="$2"; shift 2
  new_workspace "sdk-$sdk"
  as_log "$sdk: against the running app (workspace $WS_ID)"
  local out="$data/$sdk-integration.out" status=0
  AGENTSPEND_URL="$url" AGENTSPEND_KEY="$WS_INGEST" AGENTSPEND_ADMIN_KEY="$WS_ADMIN" \
    AGENTSPEND_THROTTLED_URL="http://127.0.0.1:$throttled_port" AGENTSPEND_TEST_PREFIX="$prefix" \
    "$@" >"$out" 2>&1 || status=$?
  sed -E "s/^(PASS|FAIL) /\1 $sdk: /" "$out"
  record "$out"
  if [ "$status" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then failed=$((failed + 1)); echo "FAIL $sdk integration program (exit $status)"; fi
  if ! grep -q '^PASS \|^FAIL ' "$out"; then failed=$((failed + 1)); echo "FAIL $sdk integration program printed no result"; fi
}

quick_start() { # quick_start SDK COMMAND...: runs the README quick start in the scratch project, then checks 1 event was counted
  local sdk="$1"; shift
  new_workspace "quickstart-$sdk"
  AGENTSPEND_URL="$url" AGENTSPEND_KEY="$WS_INGEST" "$@" && wait_for_events "$WS_ADMIN" 1
}

python_sdk() {
  run_integration python py env PYTHONPATH="$AS_ROOT/sdk/python/src" python3 sdk/python/integration/against_app.py
  as_log "python: wheel, installed into a scratch virtual environment, README quick start"
  local wheels="$data/wheels" venv="$scratch/python-venv"
  build_wheel() { rm -rf "$wheels" && pip wheel --quiet --no-deps --no-build-isolation sdk/python -w "$wheels"; }
  install_wheel() { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --no-index "$wheels"/agentspend-*.whl; }
  step "python: wheel builds" build_wheel
  step "python: wheel installs into a fresh virtual environment" install_wheel
  readme_block sdk/python/README.md python >"$scratch/quickstart.py"
  step "python: README quick start sends an event that is counted" quick_start python bash -c "cd '$scratch' && '$venv/bin/python' quickstart.py"
}

typescript_sdk() {
  if [ -z "${AS_SDK_TS_BUILT:-}" ]; then # scripts/test.sh has built it for the unit tests already
    as_log "typescript: installing and building (npm ci, tsc)"
    (cd sdk/typescript && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build)
  fi
  run_integration typescript ts node sdk/typescript/integration/against-app.mjs
  as_log "typescript: npm tarball, installed into a scratch project, README quick start"
  local project="$scratch/typescript-project"
  pack() { mkdir -p "$project" && (cd sdk/typescript && npm pack --silent --pack-destination "$project" >/dev/null) && ls "$project"/agentspend-*.tgz; }
  install_tarball() { (cd "$project" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error ./agentspend-*.tgz >/dev/null); }
  step "typescript: npm pack makes the tarball" pack
  step "typescript: the tarball installs into a fresh project" install_tarball
  readme_block sdk/typescript/README.md js >"$project/quickstart.mjs"
  step "typescript: README quick start sends an event that is counted" quick_start typescript bash -c "cd '$project' && node quickstart.mjs"
}

dotnet_sdk() {
  run_integration dotnet net dotnet run --project sdk/dotnet/integration/AgentSpend.Sdk.Integration -c Release
  as_log "dotnet: NuGet package, installed into a scratch console project, README quick start"
  local feed="$scratch/nuget-feed" project="$scratch/dotnet-project"
  pack() { dotnet pack sdk/dotnet/src/AgentSpend.Sdk -c Release -nologo -v quiet -o "$feed" && ls "$feed"/AgentSpend.Sdk.*.nupkg; }
  # The package from the scratch feed, its dependencies from nuget.org (the template's source), into a packages folder
  # of the scratch project's own: the user's (~/.nuget/packages) may hold an AgentSpend.Sdk of the same version built
  # from older sources, which NuGet would take instead of the package just made.
  install_package() (
    mkdir -p "$project" && cd "$project" && dotnet new console --force -o . >/dev/null \
      && dotnet new nugetconfig --force >/dev/null && dotnet nuget add source "$feed" --name agentspend-scratch --configfile nuget.config >/dev/null \
      && dotnet nuget config set globalPackagesFolder "$scratch/nuget-packages" --configfile nuget.config >/dev/null \
      && dotnet add package AgentSpend.Sdk >/dev/null
  )
  step "dotnet: dotnet pack makes the package" pack
  step "dotnet: the package installs into a fresh console project" install_package
  readme_block sdk/dotnet/README.md csharp >"$project/Program.cs"
  step "dotnet: README quick start sends an event that is counted" quick_start dotnet bash -c "cd '$project' && dotnet run"
}

for sdk in "${sdks[@]}"; do
  case "$sdk" in
    python) python_sdk ;;
    typescript) typescript_sdk ;;
    dotnet) dotnet_sdk ;;
    *) as_log "unknown SDK: $sdk (python, typescript or dotnet)"; exit 2 ;;
  esac
done

echo "sdks: $passed passed, $failed failed"
[ -z "${AS_SDK_RESULTS:-}" ] || echo "$passed $failed" >"$AS_SDK_RESULTS"
[ "$failed" -eq 0 ]
