#!/usr/bin/env bash
# TAP: sluice's background workers run what sluice.enqueue queues: in dependency order, in
# parallel, as each definition's owner, retried with backoff, stopped by timeouts and by
# sluice.cancel, never two runs of one target at once; data-aware triggers coalesce bursts;
# failures and missed freshness objectives are announced on sluice_events.
# Needs sluice.max_workers >= 2.  Uses PGHOST/PGPORT/PGUSER.
set -euo pipefail
db=sluice_sessions_queue
. "$(dirname "$0")/tap.bash"
done_sql() { echo "SELECT NOT EXISTS (SELECT FROM sluice.run WHERE status IN ('queued', 'running'))"; }
echo "1..23"

# Two chains of two slow models: the chains run side by side, each model after its upstream.
q <<'SQL' >/dev/null
CREATE TABLE raw (x int);
INSERT INTO raw VALUES (1), (2);
SELECT sluice.create_model('a1', 'SELECT x FROM raw, pg_sleep(0.6) s', 'table');
SELECT sluice.create_model('a2', 'SELECT x FROM a1, pg_sleep(0.6) s', 'table');
SELECT sluice.create_model('b1', 'SELECT x FROM raw, pg_sleep(0.6) s', 'table');
SELECT sluice.create_model('b2', 'SELECT x FROM b1, pg_sleep(0.6) s', 'table');
SQL
q -c "SELECT count(*) FROM sluice.enqueue('*')" >/dev/null
wait_for "$(done_sql)"
check "every queued build ran and succeeded" \
  "SELECT count(*) = 4 AND bool_and(status = 'success') FROM sluice.run WHERE trigger = 'enqueue'"
check "a downstream model started after its upstream finished" \
  "SELECT bool_and(d.started_at >= u.finished_at) FROM sluice.run d JOIN sluice.run u ON u.id = ANY (d.waits_for)"
check "independent chains ran at the same time on different workers" \
  "SELECT a.started_at < b.finished_at AND b.started_at < a.finished_at AND a.worker_pid <> b.worker_pid
   FROM sluice.run a, sluice.run b WHERE a.target = 'a1' AND b.target = 'b1'"
check "the published tables hold the rows" "SELECT count(*) = 2 FROM a2"

# A run executes as its definition's owner: an owner without SELECT on the input fails.
q <<'SQL' >/dev/null
DROP ROLE IF EXISTS sluice_q_owner;
CREATE ROLE sluice_q_owner;
CREATE SCHEMA owned AUTHORIZATION sluice_q_owner;
CREATE TABLE hidden (secret text);
SET ROLE sluice_q_owner;
SELECT sluice.create_model('owned.peek', 'SELECT secret FROM public.hidden', 'table');
RESET ROLE;
SQL
q -c "SELECT count(*) FROM sluice.enqueue('owned.peek')" >/dev/null
wait_for "$(done_sql)"
check "a model whose owner cannot read its input fails with permission denied, run by a superuser worker" \
  "SELECT status = 'failed' AND sqlstate = '42501' AND error = 'permission denied for table hidden'
   FROM sluice.run WHERE target = 'owned.peek'"
q -c "GRANT SELECT ON hidden TO sluice_q_owner" -c "SELECT count(*) FROM sluice.enqueue('owned.peek')" >/dev/null
wait_for "$(done_sql)"
check "with the grant it builds, owned by its owner" \
  "SELECT tableowner = 'sluice_q_owner' FROM pg_tables WHERE tablename = 'peek'"

# Notifications: a listener hears failures (retries or not) on sluice_events.
listen() {  # listen <seconds> <file>: a session that listens while the test goes on
  # (psql prints what arrived during the sleep when it sends the next command)
  psql -X -q -d "$db" -c "LISTEN sluice_events" -c "SELECT pg_sleep($1)" -c "SELECT 1" >"$2" 2>&1 &
  sleep 0.5
}
listen 6 /tmp/sluice_q_notify.$$
# Retries with backoff: a model that always fails, 2 retries 300 ms apart then 600 ms.
q <<'SQL' >/dev/null
SELECT sluice.create_model('broken', 'SELECT 1 / (SELECT count(*) - count(*) FROM raw) AS x', 'table');
SELECT count(*) FROM sluice.set_policy('broken', retries => 2, retry_backoff => '300 milliseconds');
SELECT count(*) FROM sluice.enqueue('broken');
SQL
wait_for "SELECT count(*) = 3 FROM sluice.run WHERE target = 'broken' AND status = 'failed'" 15
check "a failing run is tried 1 + retries times" \
  "SELECT array_agg(attempt ORDER BY id) = '{1,2,3}' AND array_agg(trigger ORDER BY id) = '{enqueue,retry,retry}'
   FROM sluice.run WHERE target = 'broken'"
check "each retry waits for its backoff, doubled each time" \
  "SELECT bool_and(r.started_at - p.finished_at >= interval '300 milliseconds' * power(2, p.attempt - 1))
   FROM sluice.run r JOIN sluice.run p ON p.target = r.target AND p.attempt = r.attempt - 1
   WHERE r.target = 'broken'"
wait
check "a listener heard each failure, with whether it will be retried" \
  "SELECT count(*) = 3 FROM regexp_matches(\$\$$(cat /tmp/sluice_q_notify.$$)\$\$,
     '\"event\" : \"run_failed\", \"run_id\" : [0-9]+, \"kind\" : \"build\", \"target\" : \"broken\"', 'g')"
check "the last one says no retry follows" \
  "SELECT \$\$$(cat /tmp/sluice_q_notify.$$)\$\$ LIKE '%\"attempt\" : 3, \"will_retry\" : false, \"error\" : \"division by zero\", \"sqlstate\" : \"22012\"%'"
rm -f /tmp/sluice_q_notify.$$

# Timeout: the run is stopped, recorded as timed out, and its table keeps its rows.
q <<'SQL' >/dev/null
SELECT sluice.create_model('sleepy', 'SELECT x FROM raw', 'table');
CALL sluice.build('sleepy');
SELECT sluice.create_model('sleepy', 'SELECT x + 100 AS x FROM raw, pg_sleep(5) s', 'table');
SELECT count(*) FROM sluice.set_policy('sleepy', timeout => '500 milliseconds');
SELECT count(*) FROM sluice.enqueue('sleepy');
SQL
wait_for "$(done_sql)" 15
check "a run over its timeout fails as timed out" \
  "SELECT status = 'failed' AND sqlstate = '57014' AND error LIKE 'timed out after %'
          AND finished_at - started_at < interval '3 seconds'
   FROM sluice.run WHERE target = 'sleepy' ORDER BY id DESC LIMIT 1"
check "and the table keeps its previous rows" "SELECT max(x) = 2 FROM sleepy"

# Cancel: a running run stops and rolls back; what waits on it is skipped.
q <<'SQL' >/dev/null
SELECT count(*) FROM sluice.set_policy('sleepy', timeout => '0');
SELECT sluice.create_model('after_sleepy', 'SELECT x FROM sleepy', 'table');
SELECT count(*) FROM sluice.enqueue('sleepy+');
SQL
wait_for "SELECT EXISTS (SELECT FROM sluice.run WHERE target = 'sleepy' AND status = 'running')"
check "sluice.cancel stops a running run" \
  "SELECT sluice.cancel((SELECT id FROM sluice.run WHERE target = 'sleepy' AND status = 'running')) = 'cancelled'"
wait_for "$(done_sql)"
check "it is recorded as cancelled, and what waited on it as skipped" \
  "SELECT array_agg(status ORDER BY id) = '{cancelled,skipped}' FROM sluice.run
   WHERE target IN ('sleepy', 'after_sleepy') AND trigger = 'enqueue' AND id > (SELECT max(id) - 2 FROM sluice.run)"
check "the cancelled build left the table as it was" "SELECT max(x) = 2 FROM sleepy"

# No overlap: a run queued while its target runs waits until that run ends.
q -c "SELECT sluice.create_model('sleepy', 'SELECT x FROM raw, pg_sleep(0.7) s', 'table')" \
  -c "SELECT count(*) FROM sluice.enqueue('sleepy')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM sluice.run WHERE target = 'sleepy' AND status = 'running')"
q -c "SELECT count(*) FROM sluice.enqueue('sleepy', force => true)" >/dev/null
wait_for "$(done_sql)" 15
check "two runs of one target never overlap" \
  "SELECT b.started_at >= a.finished_at FROM sluice.run a, sluice.run b
   WHERE a.id = (SELECT max(id) - 1 FROM sluice.run WHERE target = 'sleepy')
     AND b.id = (SELECT max(id) FROM sluice.run WHERE target = 'sleepy')"

# Data-aware trigger: a burst of pulls that load rows runs the model reading them once or twice
# (one running, one queued), never once per pull.
q <<'SQL' >/dev/null
SELECT sluice.create_source('feed', target => 'feed', sync_mode => 'full_refresh_append',
    config => '{"url": "http://127.0.0.1:18765/test/events?count=3&per_page=3", "records_path": "$.data",
                "columns": [{"name": "id", "type": "int"}]}');
SELECT sluice.pull('feed');
SELECT sluice.create_model('follower', 'SELECT count(*) AS n FROM feed, pg_sleep(1) s', 'table');
SELECT count(*) FROM sluice.set_policy('follower', on_upstream_data => true);
SELECT sluice.pull('feed');
SELECT sluice.pull('feed');
SELECT sluice.pull('feed');
SELECT sluice.pull('feed');
SQL
wait_for "$(done_sql)" 15
check "four pulls that loaded rows ran the model that reads them at most twice" \
  "SELECT count(*) BETWEEN 1 AND 2 AND bool_and(status = 'success' AND trigger = 'upstream')
   FROM sluice.run WHERE target = 'follower'"
check "and it holds the latest data" "SELECT n = 15 FROM follower"

# Pulls and checks run from the queue too: the check of a relation sluice does not build records
# its results with the run.
q <<'SQL' >/dev/null
CREATE TABLE lookup (code text);
INSERT INTO lookup VALUES ('a'), (NULL);
SELECT count(*) FROM sluice.expect('lookup', 'not_null', 'code');
SELECT count(*) FROM sluice.enqueue('source:feed,check:lookup');
SQL
wait_for "$(done_sql)" 15
check "a queued pull loads its rows" \
  "SELECT status = 'success' AND rows = 3 FROM sluice.run WHERE kind = 'pull' AND trigger = 'enqueue'"
check "a queued check records its results with its run" \
  "SELECT r.status = 'failed' AND c.unexpected_count = 1 FROM sluice.run r JOIN sluice.check_result c ON c.run_id = r.id
   WHERE r.kind = 'check' AND r.target = 'public.lookup'"

# Freshness: a missed objective is announced once.
listen 4 /tmp/sluice_q_fresh.$$
q -c "SELECT count(*) FROM sluice.set_policy('a2', max_staleness => '1 second')" >/dev/null
wait
check "a missed freshness objective is announced on sluice_events, once" \
  "SELECT count(*) = 1 FROM regexp_matches(\$\$$(cat /tmp/sluice_q_fresh.$$)\$\$,
     '\"event\" : \"freshness_missed\", \"kind\" : \"model\", \"name\" : \"a2\"', 'g')"
check "and sluice.freshness shows it late" "SELECT status = 'late' FROM sluice.freshness WHERE name = 'a2'"
rm -f /tmp/sluice_q_fresh.$$

dropdb "$db"
psql -X -q -d postgres -c "DROP ROLE sluice_q_owner"
exit $failed
