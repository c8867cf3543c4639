#!/usr/bin/env bash
# TAP: two sessions building the same incremental mart at once apply its new rows once.  The second
# build waits for the first to commit, then finds nothing past the recorded mark.
# Needs several sessions at once, so it is a shell test.  Uses PGHOST/PGPORT/PGUSER.
set -euo pipefail
db=sluice_sessions_incremental
. "$(dirname "$0")/tap.bash"
q <<'SQL' >/dev/null
CREATE TABLE sales (id int PRIMARY KEY, day int, amount numeric);
INSERT INTO sales SELECT g, g % 7, g FROM generate_series(1, 1000) g;
SELECT sluice.create_model('daily', 'SELECT s.day, sum(s.amount) AS total, count(*) AS n FROM sales s GROUP BY s.day',
                           'incremental', '{"unique_key": "day", "input_cursor": "s.id"}');
CALL sluice.build('daily');
INSERT INTO sales SELECT g, g % 7, g FROM generate_series(1001, 1100) g;
SQL
echo "1..3"

# The first build holds its transaction open for 2 s after building; the second starts meanwhile.
q -c "BEGIN; CALL sluice.build('daily'); SELECT pg_sleep(2); COMMIT;" >/dev/null 2>&1 &
first=$!
sleep 0.5
q -c "CALL sluice.build('daily')" >/dev/null 2>&1 &
second=$!
wait $first && wait $second

check "both builds succeed" \
  "SELECT count(*) = 3 FROM sluice.run WHERE target = 'daily' AND status = 'success'"
check "the second wrote nothing: the first had applied the new rows" \
  "SELECT array_agg(rows ORDER BY id) = '{7,7,0}' FROM sluice.run WHERE target = 'daily'"
check "the mart equals its query" \
  "SELECT count(*) = 0 FROM (SELECT * FROM daily EXCEPT ALL SELECT day, sum(amount), count(*) FROM sales GROUP BY day) x"

dropdb "$db"
exit $failed
