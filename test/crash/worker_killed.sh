#!/usr/bin/env bash
# TAP: the run queue survives crashes and restarts.  A worker killed with kill -9 mid-run: the
# server restarts, the run is failed as interrupted and retried, and its table was never
# half-written.  Runs queued when the server stops run after it starts.  1,000 queued runs on
# 4 workers all run exactly once.  kill -9 and restarts affect the whole cluster, so this runs alone.
# Uses PGHOST/PGPORT/PGUSER; restarts the cluster listening on PGPORT with pg_ctlcluster.
set -euo pipefail
db=sluice_crash_queue
. "$(dirname "$0")/../sessions/tap.bash"
cluster=$(pg_lsclusters -h | awk -v port="$PGPORT" '$3 == port { print $1 " " $2 }')
all_done="SELECT NOT EXISTS (SELECT FROM sluice.run WHERE status IN ('queued', 'running'))"

echo "1..8"
q <<'SQL' >/dev/null
CREATE TABLE raw (x int);
INSERT INTO raw SELECT generate_series(1, 1000);
SELECT sluice.create_model('slow', 'SELECT x FROM raw', 'table');
CALL sluice.build('slow');
SELECT sluice.create_model('slow', 'SELECT x + 1000 AS x FROM raw, pg_sleep(2) s', 'table');
SELECT count(*) FROM sluice.set_policy('slow', retries => 1, retry_backoff => '1 second');
SELECT sluice.create_model('after_slow', 'SELECT count(*) AS n FROM slow', 'table');
SQL

# kill -9 of the worker running a build.
q -c "SELECT count(*) FROM sluice.enqueue('slow+')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM sluice.workers WHERE run_id IS NOT NULL)" 30
sleep 0.5
kill -9 "$(q -c "SELECT pid FROM sluice.workers WHERE run_id IS NOT NULL")"
sleep 1
wait_for "SELECT EXISTS (SELECT FROM sluice.run WHERE target = 'slow' AND status = 'failed')" 60
check "the killed run is failed as interrupted" \
  "SELECT error LIKE 'interrupted:%' AND attempt = 1 FROM sluice.run WHERE target = 'slow' AND trigger = 'enqueue'"
check "the table was not half-written" "SELECT count(*) = 1000 AND max(x) = 1000 FROM slow"
wait_for "$all_done" 60
check "its retry ran and published" \
  "SELECT status = 'success' AND attempt = 2 FROM sluice.run WHERE target = 'slow' AND trigger = 'retry'"
check "and what waited on it ran after the retry" \
  "SELECT r.status = 'success' AND r.started_at >= t.finished_at FROM sluice.run r, sluice.run t
   WHERE r.target = 'after_slow' AND t.target = 'slow' AND t.trigger = 'retry'"

# A stop with runs queued: they run after the start.
q -c "SELECT count(*) FROM sluice.enqueue('slow+', force => true)" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM sluice.run WHERE status = 'running')" 30
pg_ctlcluster $cluster stop -m fast
pg_ctlcluster $cluster start
wait_for "$all_done" 60
check "after a restart the queued and interrupted runs all ran" \
  "SELECT count(*) FILTER (WHERE status = 'success' AND target = 'after_slow') = 2
          AND NOT EXISTS (SELECT FROM sluice.run WHERE status IN ('queued', 'running'))
   FROM sluice.run"

# 1,000 small runs on 4 workers: each ran once.  A sequence counts every execution, even one
# that rolled back.
q <<'SQL' >/dev/null
CREATE SEQUENCE executions;
SELECT count(*) FROM generate_series(1, 1000) g,
    sluice.create_model('small_' || g, 'SELECT nextval(''executions'') AS n', 'table', tags => '{small}');
SQL
q -c "SELECT count(*) FROM sluice.enqueue('tag:small')" >/dev/null
wait_for "$all_done" 300
check "1,000 queued runs all succeeded, once each" \
  "SELECT count(*) = 1000 AND count(DISTINCT target) = 1000 AND bool_and(status = 'success')
   FROM sluice.run WHERE target LIKE 'small\_%'"
check "each model's SQL executed exactly once" "SELECT last_value = 1000 FROM executions"
check "and the work was shared by 4 workers" \
  "SELECT count(DISTINCT worker_pid) >= 4 FROM sluice.run WHERE target LIKE 'small\_%'"

dropdb "$db"
exit $failed
