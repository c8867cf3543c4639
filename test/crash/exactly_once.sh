#!/usr/bin/env bash
# TAP: a pull killed with kill -9 at any moment, then run again, loads every record exactly once.
# Uses PGHOST/PGPORT/PGUSER from the environment and the fixture server on 127.0.0.1:18765.
# kill -9 of a backend restarts every backend of the cluster, so this runs on its own, not in pgTAP.
set -euo pipefail
db=sluice_crash
records=120
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

wait_ready() {
  for _ in $(seq 1 100); do
    psql -X -q -At -d "$db" -c "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "Bail out! the server did not come back after kill -9"
  exit 1
}

dropdb --if-exists "$db" >/dev/null
createdb "$db"
q <<'SQL' >/dev/null
CREATE EXTENSION sluice;
CREATE SCHEMA raw;
SELECT sluice.create_source(mode, target => 'raw.' || mode, sync_mode => mode,
    cursor_field => CASE WHEN mode LIKE 'incremental%' THEN 'updated_at' END,
    config => jsonb_build_object(
        'url', 'http://127.0.0.1:18765/test/events?count=120&per_page=5&delay_ms=150',
        'records_path', '$.data', 'cursor_param', 'since',
        'pagination', '{"type": "page_number"}'::jsonb,
        'columns', '[{"name": "id", "type": "int"}, {"name": "name", "type": "text"},
                     {"name": "updated_at", "type": "timestamptz"}]'::jsonb))
FROM unnest(ARRAY['incremental_append', 'full_refresh_append']) AS mode;
SQL

n=0
check() {  # check <description> <command producing "t">
  n=$((n + 1))
  if [ "$(q -c "$2")" = "t" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}
failed=0
echo "1..10"

# Starts `sql` in the background, kills its backend with -9 after `delay` seconds, waits for
# recovery; prints the rows the killed pull had committed.
kill_during() {
  local source=$1 sql=$2 delay=$3 pid
  psql -X -q -At -d "$db" -c "SELECT pg_backend_pid()" -c "$sql" >/tmp/sluice_crash.$$ 2>&1 &
  local client=$!
  for _ in $(seq 1 50); do
    pid=$(head -1 /tmp/sluice_crash.$$ 2>/dev/null || true)
    [ -n "$pid" ] && break
    sleep 0.05
  done
  sleep "$delay"
  kill -9 "$pid"
  wait "$client" 2>/dev/null || true
  wait_ready
  q -c "SELECT count(*) FROM raw.$source"
}

for source in incremental_append full_refresh_append; do
  committed=0
  for delay in 0.5 0.8 1.1; do
    rows=$(kill_during "$source" "CALL sluice.pull_checkpointed('$source', 2)" "$delay")
    [ "$rows" -gt "$committed" ] && committed=$rows
  done
  check "$source: the killed pulls had committed checkpoints ($committed rows)" \
        "SELECT $committed > 0 AND $committed < $records"
  check "$source: a killed pull leaves a point to resume from" \
        "SELECT state ? 'resume' FROM sluice.source_state WHERE source_name = '$source'"
  q -c "CALL sluice.pull_checkpointed('$source', 2)"
  check "$source: after the kills and a rerun, every record is there exactly once" \
        "SELECT count(*) = $records AND count(DISTINCT id) = $records FROM raw.$source"
  check "$source: the finished pull leaves no resume point" \
        "SELECT NOT state ? 'resume' FROM sluice.source_state WHERE source_name = '$source'"
done

# The one-transaction pull: a kill leaves nothing, the rerun loads everything once.
q -c "TRUNCATE raw.incremental_append" -c "SELECT sluice.reset_state('incremental_append')" >/dev/null
rows=$(kill_during incremental_append "SELECT sluice.pull('incremental_append')" 1.0)
check "a killed one-transaction pull committed nothing" "SELECT $rows = 0"
q -c "SELECT sluice.pull('incremental_append')" >/dev/null
check "its rerun loads every record exactly once" \
      "SELECT count(*) = $records AND count(DISTINCT id) = $records FROM raw.incremental_append"

rm -f /tmp/sluice_crash.$$
dropdb "$db"
exit $failed
