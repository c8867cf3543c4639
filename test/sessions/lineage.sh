#!/usr/bin/env bash
# TAP: lineage pictures render with graphviz; OpenLineage events reach a collector (the fixture
# server) in the background, with the secret as bearer token, and a dead collector neither fails
# nor holds up a build: its events wait and are sent once it is back.  Changes
# sluice.openlineage_url with ALTER SYSTEM and puts it back.  Uses PGHOST/PGPORT/PGUSER and the
# fixture server on 127.0.0.1:18765.
set -euo pipefail
db=sluice_sessions_lineage
. "$(dirname "$0")/tap.bash"
collector=http://127.0.0.1:18765/test/lineage
set_url() {
  psql -X -q -d postgres -c "ALTER SYSTEM SET sluice.openlineage_url = '$1'" \
    -c "ALTER SYSTEM SET sluice.openlineage_secret = 'collector_token'" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.3
}
reset_url() {
  psql -X -q -d postgres -c "ALTER SYSTEM RESET sluice.openlineage_url" \
    -c "ALTER SYSTEM RESET sluice.openlineage_secret" -c "SELECT pg_reload_conf()" >/dev/null
}
trap reset_url EXIT
received() {  # how many events the collector holds for job name $1
  curl -s "$collector/events" | python3 -c "import json, sys; print(sum(1 for e in json.load(sys.stdin) if e['job']['name'] == sys.argv[1]))" "$1"
}
echo "1..7"

q <<'SQL' >/dev/null
CREATE TABLE orders (id int, customer_id int, amount numeric);
CREATE TABLE customers (id int, country text);
SELECT sluice.create_secret('collector_token', 'l1neage-token');
SELECT sluice.create_model('revenue', 'SELECT c.country, sum(o.amount) AS revenue FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1', 'table');
CALL sluice.build('revenue');
CREATE VIEW big_countries AS SELECT country FROM revenue WHERE revenue > 100;
SELECT count(*) FROM sluice.scan_lineage();
SQL

n=$((n + 1))
if q -c "SELECT sluice.lineage_dot('revenue')" | dot -Tsvg >/dev/null 2>&1; then
  echo "ok $n - dot renders lineage_dot's graph"
else
  echo "not ok $n - dot renders lineage_dot's graph"; failed=1
fi
check "the picture holds every dataset around the relation" \
  "SELECT sluice.lineage_dot('revenue') LIKE '%public.orders%' AND sluice.lineage_dot('revenue') LIKE '%public.big_countries%'"

set_url "$collector?token=l1neage-token"
q -c "CALL sluice.build('revenue', force => true)" >/dev/null
wait_for "SELECT count(*) = 2 FROM sluice.openlineage_outbox WHERE sent_at IS NOT NULL" 30 || true
check "a finished build's START and COMPLETE events are sent in the background" \
  "SELECT count(*) = 2 FROM sluice.openlineage_outbox WHERE sent_at IS NOT NULL"
check "the collector received them, with the secret as bearer token" "SELECT $(received build/revenue) = 2"

set_url "$collector?down=1"
q -c "CALL sluice.build('revenue', force => true)" >/dev/null
check "a dead collector does not fail the build" \
  "SELECT status = 'success' FROM sluice.run WHERE target = 'revenue' ORDER BY id DESC LIMIT 1"
wait_for "SELECT bool_and(attempts >= 1) FROM sluice.openlineage_outbox WHERE sent_at IS NULL" 30 || true
check "its events wait, with the collector's answer" \
  "SELECT count(*) = 2 AND bool_and(last_error = 'the endpoint answered HTTP 503' AND next_attempt > now())
   FROM sluice.openlineage_outbox WHERE sent_at IS NULL"
set_url "$collector?token=l1neage-token"
wait_for "SELECT NOT EXISTS (SELECT FROM sluice.openlineage_outbox WHERE sent_at IS NULL)" 30 || true
check "and are sent, after their backoff, once it is back" "SELECT $(received build/revenue) = 4"

dropdb "$db"
exit $failed
