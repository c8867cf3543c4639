#!/usr/bin/env bash
# TAP: sluice.schedule makes a real pg_cron job that enqueues its selector; it fires (pg_cron's
# finest schedule is once a minute, so this waits up to ~70 s), the workers run what it queued,
# and sluice.schedules shows pg_cron's last run.  pg_cron runs jobs from cron.database_name, so
# the test uses that database and leaves it as it found it.  Uses PGHOST/PGPORT/PGUSER.
set -euo pipefail
db=$(psql -X -At -d postgres -c "SHOW cron.database_name")
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
n=0 failed=0
check() {
  n=$((n + 1))
  if [ "$(q -c "$2")" = "t" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}
had_cron=$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")
cleanup() {
  q -c "DROP EXTENSION IF EXISTS sluice CASCADE" -c "DROP TABLE IF EXISTS sluice_tick_src, sluice_tick" >/dev/null 2>&1 || true
  [ "$had_cron" = "1" ] || q -c "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "1..6"

q -c "CREATE EXTENSION sluice" >/dev/null
n=$((n + 1))
if [ "$had_cron" = "1" ]; then
  echo "ok $n # skip pg_cron's extension already exists in $db"
elif { q -c "SELECT sluice.schedule('*', '* * * * *')" 2>&1 || true; } |
     grep -q 'pg_cron is loaded but its extension is not created in this database'; then
  echo "ok $n - without pg_cron's extension, scheduling says to create it"
else
  echo "not ok $n - without pg_cron's extension, scheduling says to create it"; failed=1
fi

q <<'SQL' >/dev/null
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE TABLE sluice_tick_src (at timestamptz DEFAULT clock_timestamp());
INSERT INTO sluice_tick_src DEFAULT VALUES;
SELECT sluice.create_model('sluice_tick', 'SELECT count(*) AS n FROM sluice_tick_src', 'table');
SELECT sluice.schedule('sluice_tick', '* * * * *', name => 'tick');
SQL
check "the schedule is a pg_cron job that enqueues the selector" \
  "SELECT j.schedule = '* * * * *' AND j.command LIKE '%sluice.enqueue(''sluice_tick''%'
   FROM sluice.schedule s JOIN cron.job j USING (jobid) WHERE s.name = 'tick'"

deadline=$((SECONDS + 75))
until [ "$(q -c "SELECT EXISTS (SELECT FROM sluice.run WHERE trigger = 'schedule' AND status = 'success')")" = "t" ] ||
      [ $SECONDS -ge $deadline ]; do sleep 1; done
check "it fired and a worker built the model" \
  "SELECT status = 'success' AND kind = 'build' FROM sluice.run WHERE trigger = 'schedule' ORDER BY id LIMIT 1"
check "sluice.schedules shows pg_cron's last run" \
  "SELECT last_status = 'succeeded' AND last_start IS NOT NULL FROM sluice.schedules WHERE name = 'tick'"
q -c "SELECT sluice.unschedule('tick')" >/dev/null
check "unschedule removes the pg_cron job" \
  "SELECT NOT EXISTS (SELECT FROM cron.job WHERE jobname = 'sluice: tick') AND NOT EXISTS (SELECT FROM sluice.schedule)"
n=$((n + 1))
if { q -c "SELECT sluice.schedule('no_such_model', '* * * * *')" 2>&1 || true; } | grep -q 'nothing to run is named "no_such_model"' &&
   [ "$(q -c "SELECT count(*) FROM cron.job WHERE jobname LIKE 'sluice:%'")" = "0" ]; then
  echo "ok $n - scheduling a selector that names nothing fails at once, leaving no job"
else
  echo "not ok $n - scheduling a selector that names nothing fails at once, leaving no job"; failed=1
fi
exit $failed
