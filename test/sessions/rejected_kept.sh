#!/usr/bin/env bash
# TAP: a table model's rows rejected by its expectations are kept beside it for inspection until
# the next build (or dropped, with keep_rejected false).  Kept rows outlive the build only when it
# commits model by model (a CALL outside a transaction block), so it is a shell test.
# Uses PGHOST/PGPORT/PGUSER.
set -euo pipefail
db=sluice_sessions_rejected
. "$(dirname "$0")/tap.bash"
q <<'SQL' >/dev/null
CREATE TABLE raw (id int, amount numeric);
INSERT INTO raw VALUES (1, 10), (2, 20);
SELECT sluice.create_model('orders', 'SELECT id, amount FROM raw', 'table');
CALL sluice.build('orders');
SELECT sluice.expect('orders', 'between', 'amount', args => '{"min_value": 0}');
INSERT INTO raw VALUES (3, -5);
SQL
echo "1..6"

q -c "CALL sluice.build('orders')" >/dev/null 2>&1 || true
check "the previous rows stay published" "SELECT array_agg(id ORDER BY id) = '{1,2}' FROM orders"
check "the rejected rows are kept for inspection" \
  "SELECT array_agg(amount ORDER BY id) = '{10,20,-5}' FROM orders__rejected"
check "the run names where they are" \
  "SELECT details->>'rejected' = 'public.orders__rejected' FROM sluice.run ORDER BY id DESC LIMIT 1"

q -c "DELETE FROM raw WHERE amount < 0" -c "CALL sluice.build('orders')" >/dev/null 2>&1
check "the next build publishes and drops them" \
  "SELECT count(*) = 2 FROM orders WHERE to_regclass('orders__rejected') IS NULL"

q -c "INSERT INTO raw VALUES (4, -1)" \
  -c "SELECT sluice.create_model('orders', 'SELECT id, amount FROM raw', 'table', '{\"keep_rejected\": false}')" >/dev/null
q -c "CALL sluice.build('orders')" >/dev/null 2>&1 || true
check "keep_rejected false: nothing is kept" "SELECT to_regclass('orders__rejected') IS NULL"
check "and the previous rows stay published" "SELECT count(*) = 2 FROM orders"

dropdb "$db"
exit $failed
