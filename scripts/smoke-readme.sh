#!/usr/bin/env bash
# Starts scripts/run.sh on free ports with its own data folder, then runs the curl examples between the
# "readme-example" markers of README.md, exactly as written, and checks what they answer.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$AS_ROOT"

data="$(mktemp -d "$AS_ROOT/.data/smoke-XXXXXX" 2>/dev/null || { mkdir -p "$AS_ROOT/.data" && mktemp -d "$AS_ROOT/.data/smoke-XXXXXX"; })"
log="$data/run.log"
export AGENTSPEND_PORT AZURITE_BLOB_PORT AZURITE_QUEUE_PORT AZURITE_TABLE_PORT AGENTSPEND_DATA_DIR="$data/azurite"
AGENTSPEND_PORT=$(as_free_port); AZURITE_BLOB_PORT=$(as_free_port); AZURITE_QUEUE_PORT=$(as_free_port); AZURITE_TABLE_PORT=$(as_free_port)
unset AzureWebJobsStorage AGENTSPEND_ADMIN_KEY

setsid scripts/run.sh >"$log" 2>&1 &
run_pid=$!
finish() {
  kill -TERM -- "-$run_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
  rm -rf "$data"
}
trap finish EXIT
# Every failing step says where it failed and shows the app's log, so a red CI run explains itself.
trap 'as_log "smoke-readme.sh failed at line $LINENO (exit $?)"; tail -n 40 "$log" >&2' ERR

for _ in $(seq 1 600); do
  grep -q "Application started" "$log" && break
  kill -0 "$run_pid" 2>/dev/null || { cat "$log" >&2; as_log "scripts/run.sh exited"; exit 1; }
  sleep 0.2
done
KEY=$(grep -oE 'as_default_[A-Za-z0-9_-]{43}' "$log" | head -n1 || true)
[ -n "$KEY" ] || { cat "$log" >&2; as_log "run.sh printed no admin key on its first run"; exit 1; }
export AGENTSPEND_URL="http://127.0.0.1:$AGENTSPEND_PORT" AGENTSPEND_KEY="$KEY"

examples=$(sed -n '/<!-- readme-example:start -->/,/<!-- readme-example:end -->/p' README.md | grep -v '^```' | grep -v '^<!--')
[ -n "$examples" ] || { as_log "README.md has no readme-example block"; exit 1; }
output="$data/examples.out"
bash -euo pipefail -c "$examples" >"$output" || { rc=$?; as_log "README examples failed (exit $rc):"; cat "$output" >&2; exit 1; }

check() { grep -q -- "$1" "$output" || { as_log "README example output lacks: $1"; cat "$output" >&2; exit 1; }; }
check '"status":"ok"'
check '"accepted":2,"rejected":0'
check '"events":2,"input_tokens":3300,"output_tokens":620'
check '"cost_usd":0.0321'
check '"granularity":"hour"'
as_log "README examples answered as documented"
