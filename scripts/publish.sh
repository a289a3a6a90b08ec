#!/usr/bin/env bash
# Builds the deployable package of the function app: artifacts/agentspend-functions.zip (or the path given
# with --output). Upload it with the command in docs/deploy.md, "Deploy".
#
# The app is published self-contained for linux-x64: the Functions host on a Flex Consumption worker runs
# a custom handler as a plain executable and provides no .NET runtime, so the runtime travels in the
# package. At the package root: the executable named by host.json's
# customHandler.description.defaultExecutablePath (AgentSpend.Functions, mode 0755), its libraries,
# host.json, one folder per function with its function.json, and dashboard-assets/ with the dashboard's built files.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

output="$AS_ROOT/artifacts/agentspend-functions.zip"
while [ $# -gt 0 ]; do
  case "$1" in
    --output) output="$2"; shift 2 ;;
    *) as_log "Unknown argument: $1 (usage: scripts/publish.sh [--output PATH.zip])"; exit 2 ;;
  esac
done
case "$output" in /*) ;; *) output="$PWD/$output" ;; esac

as_require_tools
# The dashboard's built files travel in the package, under dashboard-assets/.
as_build_dashboard

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

# Intermediate files go under artifacts/publish-build, apart from the everyday build's bin/ and obj/, so a
# publish for linux-x64 never changes what `dotnet build` and the tests use.
as_log "Publishing src/Functions (Release, linux-x64, self-contained)"
dotnet publish src/Functions -c Release -r linux-x64 --self-contained true \
  --artifacts-path "$AS_ROOT/artifacts/publish-build" -o "$staging/app" -nologo -v quiet -clp:ErrorsOnly -warnaserror

executable="$(sed -n 's/.*"defaultExecutablePath"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$staging/app/host.json")"
[ -n "$executable" ] || { as_log "host.json has no customHandler.description.defaultExecutablePath"; exit 1; }
[ -f "$staging/app/$executable" ] || { as_log "The published app has no $executable (host.json's defaultExecutablePath)"; exit 1; }
chmod 0755 "$staging/app/$executable"
for function_json in src/Functions/*/function.json; do
  [ -f "$staging/app/${function_json#src/Functions/}" ] || { as_log "The published app lacks ${function_json#src/Functions/}"; exit 1; }
done
[ -f "$staging/app/dashboard-assets/index.html" ] || { as_log "The published app lacks dashboard-assets/index.html (the built dashboard)"; exit 1; }

mkdir -p "$(dirname "$output")"
rm -f "$output"
if command -v zip >/dev/null 2>&1; then
  (cd "$staging/app" && zip -q -r -X "$output" .)
else
  # zipfile keeps each file's unix mode in the entry's external attributes, as zip does.
  python3 - "$staging/app" "$output" <<'PY'
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            z.write(path, os.path.relpath(path, root))
PY
fi

as_log "Package: $output ($(du -h "$output" | cut -f1); $executable at the root, $(ls -d src/Functions/*/function.json | wc -l) functions)"
echo "$output"
