#!/usr/bin/env bash
# TAP: a publish waits for its table's lock in short turns.  While a long transaction reads the
# mart, other readers are not stuck behind the waiting publish, which succeeds once the long
# reader is done, or gives up after sluice.publish_timeout with the old rows still published.
# Needs several sessions at once, so it is a shell test.  Uses PGHOST/PGPORT/PGUSER.
set -euo pipefail
db=sluice_sessions
. "$(dirname "$0")/tap.bash"
q <<'SQL' >/dev/null
CREATE TABLE sales (id int, amount numeric);
INSERT INTO sales SELECT g, g FROM generate_series(1, 100) g;
SELECT sluice.create_model('mart', 'SELECT count(*) AS n, sum(amount) AS total FROM sales', materialized => 'table');
CALL sluice.build('mart');
CREATE TABLE events (what text PRIMARY KEY, at timestamptz);
INSERT INTO sales VALUES (101, 101);
SQL
echo "1..5"

# A long reader holds the mart for 3 s; a publish starts, then a short reader arrives.
q -c "BEGIN; SELECT count(*) FROM mart; SELECT pg_sleep(3);
      INSERT INTO events VALUES ('long reader done', clock_timestamp()); COMMIT;" >/dev/null &
long=$!
sleep 0.5
q -c "CALL sluice.build('mart')" >/dev/null 2>&1 &
publish=$!
sleep 0.5
q -c "SELECT count(*) FROM mart; INSERT INTO events VALUES ('short reader done', clock_timestamp())" >/dev/null
wait $long
wait $publish && published=t || published=f

check "a reader arriving while the publish waits is not held until the long reader ends" \
  "SELECT (SELECT at FROM events WHERE what = 'short reader done') < (SELECT at FROM events WHERE what = 'long reader done')"
check "the publish waits out the long reader and succeeds" "SELECT '$published' = 't'"
check "and publishes the new rows" "SELECT n = 101 FROM mart"

# A reader longer than sluice.publish_timeout: the publish gives up, the old rows stay.
q -c "INSERT INTO sales VALUES (102, 102)"
q -c "BEGIN; SELECT count(*) FROM mart; SELECT pg_sleep(3); COMMIT;" >/dev/null &
long=$!
sleep 0.5
out=$(psql -X -q -d "$db" -c "SET sluice.publish_timeout = '1s'" -c "CALL sluice.build('mart')" 2>&1 || true)
wait $long
check "a publish gives up after sluice.publish_timeout" \
  "SELECT $(grep -c 'could not be published: other sessions kept mart busy for 1000 ms' <<<"$out") > 0"
check "and the old rows stay published" "SELECT n = 101 FROM mart"

dropdb "$db" >/dev/null
exit $failed
