#!/usr/bin/env bash
# Builds the dashboard (Vite), compiles and lints infra/bicep (Bicep CLI from NuGet, warnings fail), restores,
# builds (warnings are errors), runs every test suite (each integration
# test class starts its own Azurite on free ports and stops it), the dashboard's Vitest unit tests and its
# browser tests (headless Chromium against the app on a seeded workspace), then runs the README's curl
# examples against scripts/run.sh, the SDKs' unit tests and each SDK against the app with its package installed
# into a scratch project (scripts/test-sdks.sh), a small benchmark pass and a 2-minute soak under faults (scripts/soak.sh).
# Ends with one line "N passed, N failed, N skipped"; exits non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

started=$(date +%s)
as_require_tools
as_install_azurite
export AZURITE_JS="$AS_AZURITE_JS"
as_build_dashboard
# Vite strips types without checking them; the type check is the front end's warnings-are-errors.
as_log "Type-checking the dashboard (tsc --noEmit in src/Dashboard)"
(cd "$AS_DASHBOARD_DIR" && npx --no-install tsc --noEmit)

as_log "Compiling and linting infra/bicep (Bicep CLI from NuGet; a warning fails)"
bicep_status=0
as_check_bicep || bicep_status=$?

as_log "Restoring and building (Release, warnings are errors)"
dotnet restore AgentSpend.Functions.sln -nologo -v quiet
dotnet build AgentSpend.Functions.sln -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly -warnaserror

results="$AS_ROOT/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
as_log "Running the test suites"
set +e
dotnet test AgentSpend.Functions.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results"
tests_status=$?
set -e

trx_count() { # trx_count DIR ATTRIBUTE: one attribute of <Counters> summed over DIR's TRX files; 0 when there are none
  cat "$1"/*.trx 2>/dev/null | awk -v k="$2" 'match($0, /<Counters [^>]*/) { c = substr($0, RSTART, RLENGTH); if (match(c, " " k "=\"[0-9]+\"")) { v = substr(c, RSTART, RLENGTH); gsub(/[^0-9]/, "", v); n += v } } END { print n + 0 }' || true
}
tap_count() { # tap_count FILE NAME: the "# NAME N" summary line of a Node test runner TAP file; 0 when absent
  grep -m1 -oE "^# $2 [0-9]+" "$1" 2>/dev/null | grep -oE '[0-9]+$' || echo 0
}
passed=$(trx_count "$results" passed); failed=$(trx_count "$results" failed)
skipped=$(( $(trx_count "$results" total) - $(trx_count "$results" executed) ))
if [ "$tests_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$bicep_status" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); as_log "infra/bicep did not compile and lint cleanly (above)"; fi

as_log "Running the dashboard's unit tests (Vitest)"
set +e
(cd "$AS_DASHBOARD_DIR" && npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json")
vitest_status=$?
set -e
vitest_count() { node -e 'const r=require(process.argv[1]);console.log(r[process.argv[2]]??0)' "$results/vitest.json" "$1" 2>/dev/null || echo 0; }
passed=$((passed + $(vitest_count numPassedTests))); failed=$((failed + $(vitest_count numFailedTests)))
skipped=$((skipped + $(vitest_count numPendingTests) + $(vitest_count numTodoTests)))
if [ "$vitest_status" -ne 0 ] && [ "$(vitest_count numFailedTests)" -eq 0 ]; then failed=$((failed + 1)); fi

as_log "Running the dashboard's browser tests (scripts/test-dashboard.sh: headless Chromium, seeded workspace)"
tap="$results/dashboard-e2e.tap"
set +e
AS_DASHBOARD_TAP="$tap" scripts/test-dashboard.sh
e2e_status=$?
set -e
passed=$((passed + $(tap_count "$tap" pass))); failed=$((failed + $(tap_count "$tap" fail) + $(tap_count "$tap" cancelled)))
skipped=$((skipped + $(tap_count "$tap" skipped) + $(tap_count "$tap" todo)))
if [ "$e2e_status" -ne 0 ] && [ "$(( $(tap_count "$tap" fail) + $(tap_count "$tap" cancelled) ))" -eq 0 ]; then failed=$((failed + 1)); fi

as_log "Running the README examples against scripts/run.sh"
if scripts/smoke-readme.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

as_log "Running the SDKs' unit tests (Python unittest, the Node test runner, xunit)"
set +e
python3 -m unittest discover -s sdk/python/tests >"$results/sdk-python.log" 2>&1
py_status=$?
set -e
# unittest's summary: "Ran N tests", then "OK", "OK (skipped=S)" or "FAILED (failures=F, errors=E, skipped=S)".
py_ran=$(awk '/^Ran [0-9]+ test/ { n = $2 } END { print n + 0 }' "$results/sdk-python.log")
py_failed=$(awk '/^FAILED \(/ { while (match($0, /(failures|errors)=[0-9]+/)) { split(substr($0, RSTART, RLENGTH), kv, "="); n += kv[2]; $0 = substr($0, RSTART + RLENGTH) } } END { print n + 0 }' "$results/sdk-python.log")
py_skipped=$(awk '/^(OK|FAILED) \(/ && match($0, /skipped=[0-9]+/) { split(substr($0, RSTART, RLENGTH), kv, "="); n += kv[2] } END { print n + 0 }' "$results/sdk-python.log")
passed=$((passed + py_ran - py_failed - py_skipped)); failed=$((failed + py_failed)); skipped=$((skipped + py_skipped))
if [ "$py_status" -ne 0 ]; then tail -n 40 "$results/sdk-python.log" >&2; [ "$py_failed" -gt 0 ] || failed=$((failed + 1)); fi

set +e
(cd sdk/typescript && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build \
  && node --test --test-reporter=tap test/*.test.mjs) >"$results/sdk-typescript.tap" 2>&1
ts_status=$?
set -e
ts_tap="$results/sdk-typescript.tap"
passed=$((passed + $(tap_count "$ts_tap" pass))); failed=$((failed + $(tap_count "$ts_tap" fail) + $(tap_count "$ts_tap" cancelled)))
skipped=$((skipped + $(tap_count "$ts_tap" skipped) + $(tap_count "$ts_tap" todo)))
if [ "$ts_status" -ne 0 ]; then tail -n 40 "$ts_tap" >&2; [ "$(tap_count "$ts_tap" fail)" -gt 0 ] || failed=$((failed + 1)); fi

sdk_results="$results/sdk-dotnet"
set +e
dotnet test sdk/dotnet/AgentSpend.Sdk.sln -c Release -nologo -warnaserror --logger "trx" --logger "console;verbosity=minimal" --results-directory "$sdk_results"
net_status=$?
set -e
passed=$((passed + $(trx_count "$sdk_results" passed))); failed=$((failed + $(trx_count "$sdk_results" failed)))
if [ "$net_status" -ne 0 ] && [ "$(trx_count "$sdk_results" failed)" -eq 0 ]; then failed=$((failed + 1)); fi

as_log "Running each SDK against the app, and its package installed into a scratch project (scripts/test-sdks.sh)"
set +e
ts_built=""; [ "$ts_status" -ne 0 ] || ts_built=1
AS_SDK_RESULTS="$results/sdks.counts" AS_APP_BUILT=1 AS_SDK_TS_BUILT="$ts_built" scripts/test-sdks.sh >"$results/sdks.log" 2>&1
sdks_status=$?
set -e
grep -E '^(PASS|FAIL|sdks:) ' "$results/sdks.log" || true
read -r sdk_passed sdk_failed <"$results/sdks.counts" 2>/dev/null || { sdk_passed=0; sdk_failed=0; }
passed=$((passed + sdk_passed)); failed=$((failed + sdk_failed))
if [ "$sdks_status" -ne 0 ] && [ "$sdk_failed" -eq 0 ]; then failed=$((failed + 1)); tail -n 60 "$results/sdks.log" >&2; fi

as_log "Running a small benchmark pass (scripts/bench.sh: every total must come out exact)"
if scripts/bench.sh --events 5000 --raw-entities 2000 --query-iterations 20 >"$results/bench.log" 2>&1; then
  passed=$((passed + 1)); grep -E '^(workload|http ingest|end-to-end|storage requests|transactions|totals|re-pricing [0-9-]*):' "$results/bench.log" || true
else
  failed=$((failed + 1)); as_log "scripts/bench.sh failed:"; tail -n 40 "$results/bench.log" >&2
fi

as_log "Running a 2-minute soak under faults (scripts/soak.sh: two instances, kills, a storage outage; every total against its oracle)"
if scripts/soak.sh --minutes 2 --drain-seconds 120 --no-build >"$results/soak.log" 2>&1; then
  passed=$((passed + 1)); grep -E '^soak: (faults|drain|poison|totals|PASSED)' "$results/soak.log" || true
else
  failed=$((failed + 1)); as_log "scripts/soak.sh failed:"; grep -E '^soak: ' "$results/soak.log" | tail -n 60 >&2
fi

as_log "Finished in $(( $(date +%s) - started )) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
