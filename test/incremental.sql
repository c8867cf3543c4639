-- pgTAP: incremental models: append, merge and delete+insert; new rows found by an output cursor,
-- an input cursor or a predicate; aggregate marts recompute only the groups new rows touch; a
-- changed SQL or full_refresh rebuilds; bad definitions fail clearly and leave the table as it was.
BEGIN;
SELECT plan(33);

CREATE SCHEMA tap_inc;
CREATE TABLE tap_inc.sales (id bigint PRIMARY KEY, day date NOT NULL, product int NOT NULL,
                            amount numeric NOT NULL, updated_at timestamptz NOT NULL DEFAULT '2026-01-01');
INSERT INTO tap_inc.sales (id, day, product, amount)
SELECT g, date '2026-01-01' + g % 5, g % 3, g FROM generate_series(1, 30) g;

CREATE FUNCTION pg_temp.last_build(model text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('status', status, 'rows', rows, 'build', details->>'build')
  FROM sluice.run WHERE kind = 'build' AND target = model ORDER BY id DESC LIMIT 1 $$;
-- Rows in one query and not the other, both ways: 0 when the model holds exactly what its SQL returns.
CREATE FUNCTION pg_temp.differences(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT (SELECT count(*) FROM (%s EXCEPT ALL %s) x) + (SELECT count(*) FROM (%s EXCEPT ALL %s) y)',
                 a, b, b, a) INTO n;
  RETURN n;
END $$;

-- append, by an output cursor
SELECT is((sluice.create_model('tap_inc.events', 'SELECT id, amount FROM tap_inc.sales', 'incremental',
                               '{"cursor": "id"}')).options,
          '{"cursor": "id", "strategy": "append"}', 'without a unique_key the strategy is append');
CALL sluice.build('tap_inc.events');
SELECT is(pg_temp.last_build('tap_inc.events'), '{"status": "success", "rows": 30, "build": "full"}',
          'the first build is a full one');
INSERT INTO tap_inc.sales (id, day, product, amount) VALUES (31, '2026-01-06', 1, 31), (32, '2026-01-06', 2, 32);
CALL sluice.build('tap_inc.events');
SELECT is(pg_temp.last_build('tap_inc.events'), '{"status": "success", "rows": 2, "build": "incremental"}',
          'append adds only the rows past the table''s high-water mark');
SELECT is(pg_temp.differences('TABLE tap_inc.events', 'SELECT id, amount FROM tap_inc.sales'), 0::bigint,
          'and the table holds what the query returns');

-- merge on unique_key: changed rows updated in place, unchanged rows left alone
SELECT count(*) FROM sluice.create_model('tap_inc.latest', 'SELECT id, amount, updated_at FROM tap_inc.sales',
                                         'incremental', '{"cursor": "updated_at", "unique_key": "id"}');
CALL sluice.build('tap_inc.latest');
SELECT is(ARRAY(SELECT indexdef FROM pg_indexes WHERE schemaname = 'tap_inc' AND tablename = 'latest' ORDER BY 1),
          '{"CREATE INDEX latest_updated_at_cursor ON tap_inc.latest USING btree (updated_at)","CREATE UNIQUE INDEX latest_id_key ON tap_inc.latest USING btree (id)"}',
          'the unique_key gets a unique index, the cursor an index');
CREATE TEMP TABLE untouched AS SELECT xmin::text AS x FROM tap_inc.latest WHERE id = 1;
UPDATE tap_inc.sales SET amount = 1000, updated_at = '2026-02-01' WHERE id IN (5, 6);
INSERT INTO tap_inc.sales (id, day, product, amount, updated_at) VALUES (33, '2026-01-07', 0, 33, '2026-02-01');
CALL sluice.build('tap_inc.latest');
SELECT is(pg_temp.last_build('tap_inc.latest'), '{"status": "success", "rows": 3, "build": "incremental"}',
          'merge writes the two changed rows and the new one');
SELECT is(pg_temp.differences('TABLE tap_inc.latest', 'SELECT id, amount, updated_at FROM tap_inc.sales'), 0::bigint,
          'merged: no duplicate keys, new values in place');
SELECT is((SELECT xmin::text FROM tap_inc.latest WHERE id = 1), (SELECT x FROM untouched),
          'a row that did not change is not rewritten');

-- delete+insert by a predicate over the inputs
SELECT count(*) FROM sluice.create_model('tap_inc.big', 'SELECT s.id, s.amount FROM tap_inc.sales s', 'incremental',
  '{"predicate": "s.updated_at > now() - interval ''1 day''", "unique_key": ["id"], "strategy": "delete+insert"}');
CALL sluice.build('tap_inc.big');
UPDATE tap_inc.sales SET amount = 7, updated_at = now() WHERE id = 7;
CALL sluice.build('tap_inc.big');
SELECT is(pg_temp.last_build('tap_inc.big'), '{"status": "success", "rows": 1, "build": "incremental"}',
          'delete+insert replaces the rows the predicate selects');
SELECT is(pg_temp.differences('TABLE tap_inc.big', 'SELECT id, amount FROM tap_inc.sales'), 0::bigint,
          'with no duplicate');

-- An aggregate mart by an input cursor: only the touched groups are recomputed, whole
SELECT count(*) FROM sluice.create_model('tap_inc.daily', $$
  SELECT s.day, s.product, sum(s.amount) AS revenue, count(*) AS orders
  FROM tap_inc.sales s GROUP BY s.day, s.product
$$, 'incremental', '{"unique_key": ["day", "product"], "input_cursor": "s.id"}');
CALL sluice.build('tap_inc.daily');
SELECT is((SELECT details->>'high_water' FROM sluice.run WHERE target = 'tap_inc.daily' ORDER BY id DESC LIMIT 1),
          '33', 'the input cursor''s high-water mark is recorded with the build');
CREATE TEMP TABLE untouched_group AS SELECT xmin::text AS x FROM tap_inc.daily WHERE day = '2026-01-02' AND product = 1;
INSERT INTO tap_inc.sales (id, day, product, amount)
VALUES (34, '2026-01-01', 0, 100), (35, '2026-01-01', 0, 1), (36, '2026-01-09', 2, 5);
CALL sluice.build('tap_inc.daily');
SELECT is(pg_temp.last_build('tap_inc.daily'), '{"status": "success", "rows": 2, "build": "incremental"}',
          'two groups touched (one old, one new), two rows written');
SELECT is(pg_temp.differences('TABLE tap_inc.daily',
            'SELECT day, product, sum(amount), count(*) FROM tap_inc.sales GROUP BY 1, 2'), 0::bigint,
          'the mart equals its query: touched groups recomputed from all their rows');
SELECT is((SELECT xmin::text FROM tap_inc.daily WHERE day = '2026-01-02' AND product = 1), (SELECT x FROM untouched_group),
          'an untouched group is not rewritten');
CALL sluice.build('tap_inc.daily');
SELECT is(pg_temp.last_build('tap_inc.daily'), '{"status": "success", "rows": 0, "build": "incremental"}',
          'nothing past the mark: nothing written');
SELECT is((SELECT details->>'high_water' FROM sluice.run WHERE target = 'tap_inc.daily' ORDER BY id DESC LIMIT 1),
          '36', 'and the mark stays');

-- An aggregate mart by a predicate, with a join: the keys come through the join
CREATE TABLE tap_inc.products (product int PRIMARY KEY, category text);
INSERT INTO tap_inc.products VALUES (0, 'toys'), (1, 'toys'), (2, 'books');
SELECT count(*) FROM sluice.create_model('tap_inc.by_category', $$
  SELECT p.category, s.day, sum(s.amount) AS revenue
  FROM tap_inc.sales s JOIN tap_inc.products p USING (product) GROUP BY p.category, s.day
$$, 'incremental', '{"unique_key": ["category", "day"], "predicate": "s.updated_at > now() - interval ''1 hour''"}');
CALL sluice.build('tap_inc.by_category');
UPDATE tap_inc.sales SET amount = amount + 1, updated_at = now() WHERE id = 8;
INSERT INTO tap_inc.sales (id, day, product, amount, updated_at) VALUES (37, '2026-01-03', 2, 2, now());
CALL sluice.build('tap_inc.by_category');
SELECT is(pg_temp.differences('TABLE tap_inc.by_category',
            'SELECT category, day, sum(amount) FROM tap_inc.sales JOIN tap_inc.products USING (product) GROUP BY 1, 2'),
          0::bigint, 'groups keyed through a join are recomputed whole');

-- A changed SQL rebuilds in full; changed options alone do not; full_refresh does
SELECT count(*) FROM sluice.create_model('tap_inc.events', 'SELECT id, amount * 2 AS amount FROM tap_inc.sales',
                                         'incremental', '{"cursor": "id"}');
CALL sluice.build('tap_inc.events');
SELECT is(pg_temp.last_build('tap_inc.events')->>'build', 'full', 'a changed SQL rebuilds in full');
SELECT is((SELECT sum(amount) FROM tap_inc.events), (SELECT sum(amount) * 2 FROM tap_inc.sales), 'with the new SQL');
SELECT count(*) FROM sluice.create_model('tap_inc.events', 'SELECT id, amount * 2 AS amount FROM tap_inc.sales',
                                         'incremental', '{"cursor": "id", "unique_key": "id"}');
CALL sluice.build('tap_inc.events');
SELECT is(pg_temp.last_build('tap_inc.events')->>'build', 'incremental', 'changed options alone do not rebuild');
CALL sluice.build('tap_inc.events', full_refresh => true);
SELECT is(pg_temp.last_build('tap_inc.events')->>'build', 'full', 'full_refresh => true rebuilds in full');

-- Bad definitions: a clear error at definition time
SELECT throws_ok($$SELECT sluice.create_model('tap_inc.bad', 'SELECT 1 AS x', 'incremental')$$, '22023',
  'incremental model "tap_inc.bad" needs exactly one way to find new rows, not 0',
  'an incremental model without a way to find new rows is refused');
SELECT throws_ok($$SELECT sluice.create_model('tap_inc.bad', 'SELECT 1 AS x', 'incremental',
                   '{"cursor": "x", "strategy": "delete+insert"}')$$, '22023',
  'model "tap_inc.bad": strategy delete+insert needs a unique_key', 'delete+insert needs a unique_key');
SELECT throws_ok($$SELECT sluice.create_model('tap_inc.bad', 'SELECT 1 AS x', 'incremental',
                   '{"cursor": "x", "strategy": "upsert"}')$$, '22023',
  'model "tap_inc.bad" has unknown incremental strategy "upsert"', 'an unknown strategy is refused');
SELECT throws_ok($$SELECT sluice.create_model('tap_inc.bad', 'SELECT 1 AS x', 'table', '{"cursor": "x"}')$$, '22023',
  'model "tap_inc.bad": option "cursor" does not apply to a table model', 'options of another materialization are refused');

-- The mart again, with other options.
CREATE FUNCTION pg_temp.redefine_daily(options jsonb) RETURNS void LANGUAGE sql AS $f$
  SELECT NULL FROM sluice.create_model('tap_inc.daily', $$
    SELECT s.day, s.product, sum(s.amount) AS revenue, count(*) AS orders
    FROM tap_inc.sales s GROUP BY s.day, s.product
  $$, 'incremental', options) $f$;

-- Bad definitions found at build time: the error names the model, the table is left as it was
CREATE TEMP TABLE before AS SELECT * FROM tap_inc.daily;
SELECT pg_temp.redefine_daily('{"unique_key": ["day", "sku"], "input_cursor": "s.id"}');
SELECT throws_ok($$CALL sluice.build('tap_inc.daily')$$, '42703',
  'model "tap_inc.daily": unique_key column "sku" is not a column of its output',
  'a unique_key absent from the output fails the build');
SELECT pg_temp.redefine_daily('{"unique_key": ["day", "product"], "input_cursor": "x.id"}');
SELECT throws_ok($$CALL sluice.build('tap_inc.daily')$$, '42P01',
  'model "tap_inc.daily": input_cursor "x.id" names "x", which is not a relation in the FROM of its SELECT',
  'an input_cursor naming no input fails the build');
SELECT pg_temp.redefine_daily('{"unique_key": ["day", "product"], "predicate": "s.nope > 1"}');
SELECT throws_ok($$CALL sluice.build('tap_inc.daily')$$, '42703', 'model "tap_inc.daily" failed: column s.nope does not exist',
  'a predicate over a missing column fails the build');
SELECT pg_temp.redefine_daily('{"unique_key": ["day"], "input_cursor": "s.id"}');
SELECT throws_ok($$CALL sluice.build('tap_inc.daily', full_refresh => true)$$, '23505', NULL,
  'a unique_key that is not unique fails the build');
SELECT is(pg_temp.differences('TABLE tap_inc.daily', 'TABLE before'), 0::bigint,
          'after all these failures the mart is exactly as it was');

-- Grants, comments and declared indexes survive a rebuild that has to re-create the table
GRANT SELECT ON tap_inc.events TO PUBLIC;
COMMENT ON TABLE tap_inc.events IS 'events, doubled';
SELECT count(*) FROM sluice.create_model('tap_inc.events', 'SELECT id, amount * 2 AS amount, day FROM tap_inc.sales',
                                         'incremental', '{"cursor": "id", "indexes": [["day"], {"columns": "amount", "unique": false}]}');
CALL sluice.build('tap_inc.events');
SELECT ok(has_table_privilege('public', 'tap_inc.events', 'SELECT'), 'a re-created table keeps its grants');
SELECT is(obj_description('tap_inc.events'::regclass, 'pg_class'), 'events, doubled', 'and its comment');
SELECT is(ARRAY(SELECT indexname::text FROM pg_indexes WHERE schemaname = 'tap_inc' AND tablename = 'events' ORDER BY 1),
          '{events_amount_idx,events_day_idx,events_id_cursor}', 'and gets its declared indexes');

SELECT * FROM finish();
ROLLBACK;
