-- pgTAP: snapshots (slowly changing dimensions of type 2): versions by timestamp or by compared
-- columns, hard deletes closed on request, history kept across builds and definition changes.
BEGIN;
SELECT plan(16);

CREATE SCHEMA tap_snap;
CREATE TABLE tap_snap.customers (id int PRIMARY KEY, name text, tier text, updated_at timestamptz);
INSERT INTO tap_snap.customers VALUES
  (1, 'ann', 'gold', '2026-01-01'), (2, 'bob', 'silver', '2026-01-01'), (3, 'cy', 'bronze', '2026-01-01');

SELECT is((sluice.create_model('tap_snap.by_time', 'SELECT id, name, tier, updated_at FROM tap_snap.customers',
                               'snapshot', '{"unique_key": "id", "updated_at": "updated_at",
                                             "invalidate_hard_deletes": true}')).options->>'strategy',
          'timestamp', 'with updated_at the strategy is timestamp');
SELECT is((sluice.create_model('tap_snap.by_tier', 'SELECT id, name, tier FROM tap_snap.customers',
                               'snapshot', '{"unique_key": "id", "check_cols": "tier"}')).options,
          '{"strategy": "check", "check_cols": ["tier"], "unique_key": ["id"]}',
          'with check_cols the strategy is check');
CALL sluice.build('tap_snap.by_time, tap_snap.by_tier');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = 'tap_snap.by_time'::regclass AND attnum > 0 ORDER BY attnum),
          '{id,name,tier,updated_at,valid_from,valid_to,is_current}', 'a snapshot adds valid_from, valid_to and is_current');
SELECT results_eq('SELECT id, valid_from, valid_to, is_current FROM tap_snap.by_time ORDER BY id',
  $$VALUES (1, '2026-01-01'::timestamptz, NULL::timestamptz, true), (2, '2026-01-01', NULL, true), (3, '2026-01-01', NULL, true)$$,
  'the first build holds one current version per record, valid from its updated_at');

UPDATE tap_snap.customers SET tier = 'platinum', updated_at = '2026-02-01' WHERE id = 1;
UPDATE tap_snap.customers SET name = 'bobby' WHERE id = 2;   -- no newer updated_at, tier unchanged
DELETE FROM tap_snap.customers WHERE id = 3;
INSERT INTO tap_snap.customers VALUES (4, 'dee', 'gold', '2026-02-02');
CALL sluice.build('tap_snap.by_time, tap_snap.by_tier');

SELECT results_eq('SELECT id, tier, valid_from, valid_to, is_current FROM tap_snap.by_time WHERE id = 1 ORDER BY valid_from',
  $$VALUES (1, 'gold', '2026-01-01'::timestamptz, '2026-02-01'::timestamptz, false),
           (1, 'platinum', '2026-02-01', NULL, true)$$,
  'a newer updated_at closes the old version at that time and opens a new one');
SELECT results_eq('SELECT name, is_current FROM tap_snap.by_time WHERE id = 2',
  $$VALUES ('bob', true)$$, 'by timestamp, a change without a newer updated_at is not a new version');
SELECT results_eq('SELECT is_current, valid_to IS NOT NULL FROM tap_snap.by_time WHERE id = 3',
  $$VALUES (false, true)$$, 'with invalidate_hard_deletes a deleted record is closed');
SELECT results_eq('SELECT tier, is_current FROM tap_snap.by_time WHERE id = 4',
  $$VALUES ('gold', true)$$, 'a new record gets its first version');
SELECT results_eq('SELECT id, tier, is_current FROM tap_snap.by_tier ORDER BY id, valid_from',
  $$VALUES (1, 'gold', false), (1, 'platinum', true), (2, 'silver', true), (3, 'bronze', true), (4, 'gold', true)$$,
  'by check_cols, only a change of a compared column is a new version; without invalidate_hard_deletes a deleted record stays current');
SELECT is((SELECT count(*) FROM sluice.run WHERE target = 'tap_snap.by_time' AND rows = 2 AND details->>'build' = 'snapshot'),
          1::bigint, 'the build records the versions it added');

-- A record that comes back after being closed is current again
INSERT INTO tap_snap.customers VALUES (3, 'cy', 'bronze', '2026-03-01');
CALL sluice.build('tap_snap.by_time');
SELECT results_eq('SELECT count(*), count(*) FILTER (WHERE is_current) FROM tap_snap.by_time WHERE id = 3',
  $$VALUES (2::bigint, 1::bigint)$$, 'a returning record gets a new current version');

-- A changed SQL with the same columns keeps the history; changed columns need full_refresh
SELECT count(*) FROM sluice.create_model('tap_snap.by_tier', 'SELECT id, name, tier FROM tap_snap.customers WHERE id > 0',
                                         'snapshot', '{"unique_key": "id", "check_cols": "tier"}');
CALL sluice.build('tap_snap.by_tier');
SELECT is((SELECT count(*) FROM tap_snap.by_tier), 5::bigint, 'a changed SQL with the same columns keeps the history');
SELECT count(*) FROM sluice.create_model('tap_snap.by_tier', 'SELECT id, tier FROM tap_snap.customers',
                                         'snapshot', '{"unique_key": "id", "check_cols": "tier"}');
SELECT throws_ok($$CALL sluice.build('tap_snap.by_tier')$$, '42P16',
  'model "tap_snap.by_tier" no longer matches its snapshot table tap_snap.by_tier',
  'changed columns are refused, the history kept');
CALL sluice.build('tap_snap.by_tier', full_refresh => true);
SELECT is((SELECT count(*) FROM tap_snap.by_tier), 4::bigint, 'full_refresh starts the history again');

-- Bad definitions
SELECT throws_ok($$SELECT sluice.create_model('tap_snap.bad', 'SELECT 1 AS id', 'snapshot')$$, '22023',
  'snapshot model "tap_snap.bad" needs a unique_key', 'a snapshot needs a unique_key');
SELECT count(*) FROM sluice.create_model('tap_snap.bad', 'SELECT 1 AS id, now() AS valid_from', 'snapshot', '{"unique_key": "id"}');
SELECT throws_ok($$CALL sluice.build('tap_snap.bad')$$, '42701',
  'model "tap_snap.bad" returns a column "valid_from", a name its snapshot adds itself',
  'a model returning a history column is refused');

SELECT * FROM finish();
ROLLBACK;
