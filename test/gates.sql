-- pgTAP: write, audit, publish: a model's expectations check its new data before it is published,
-- a source's check the pulled batch before it commits; failures keep the previous data and state.
BEGIN;
SELECT plan(19);

CREATE SCHEMA tap_g;
CREATE TABLE tap_g.raw (id int, amount numeric);
INSERT INTO tap_g.raw VALUES (1, 10), (2, 20);

-- A table model: rejected rows are not published.
SELECT name FROM sluice.create_model('tap_g.orders', 'SELECT id, amount FROM tap_g.raw', 'table');
CALL sluice.build('tap_g.orders');
SELECT name FROM sluice.expect('tap_g.orders', 'between', 'amount', args => '{"min_value": 0}', name => 'g_amount');
SELECT name FROM sluice.expect('tap_g.orders', 'unique', 'id', name => 'g_id');
INSERT INTO tap_g.raw VALUES (3, -5);
SELECT throws_ok($$CALL sluice.build('tap_g.orders')$$, '23514',
                 'model "tap_g.orders" failed its expectations: g_amount',
                 'a build whose new rows fail an error expectation fails, naming it');
SELECT results_eq('SELECT id, amount FROM tap_g.orders ORDER BY id', $$VALUES (1, 10::numeric), (2, 20::numeric)$$,
                  'the previous rows stay published');
SELECT is((SELECT status || ': ' || error FROM sluice.run WHERE target = 'tap_g.orders' ORDER BY id DESC LIMIT 1),
          'failed: model "tap_g.orders" failed its expectations: g_amount', 'the build is recorded as failed');
SELECT results_eq($$SELECT expectation, success, partial_unexpected_list FROM sluice.check_result
                    WHERE run_id = (SELECT max(id) FROM sluice.run WHERE target = 'tap_g.orders') ORDER BY expectation$$,
                  $$VALUES ('g_amount', false, '[-5]'::jsonb), ('g_id', true, '[]'::jsonb)$$,
                  'with the results of every expectation, recorded although the build rolled back');

-- A warning records and publishes.
SELECT name FROM sluice.expect('tap_g.orders', 'between', 'amount', args => '{"min_value": 0}', name => 'g_amount',
                               severity => 'warn');
CALL sluice.build('tap_g.orders');
SELECT is((SELECT count(*) FROM tap_g.orders), 3::bigint, 'a failing warning does not stop the publish');
SELECT is((SELECT details->'checks' FROM sluice.run WHERE target = 'tap_g.orders' ORDER BY id DESC LIMIT 1),
          '{"scans": 3, "failed": 0, "warned": 1, "expectations": 2}'::jsonb, 'the build''s run summarizes its checks');
SELECT is((SELECT status FROM sluice.quality WHERE expectation = 'g_amount'), 'warning',
          'sluice.quality shows results recorded by builds');

-- A changed model shape is audited before it replaces the table.
DELETE FROM tap_g.raw WHERE amount < 0;
SELECT name FROM sluice.expect('tap_g.orders', 'not_null', 'amount', name => 'g_amount');
SELECT name FROM sluice.create_model('tap_g.orders', 'SELECT id, NULL::numeric AS amount, 1 AS one FROM tap_g.raw', 'table');
SELECT throws_ok($$CALL sluice.build('tap_g.orders')$$, '23514', NULL, 'a new shape failing its expectations fails');
SELECT columns_are('tap_g', 'orders', ARRAY['id', 'amount'], 'and the old table stays, with its old columns');

-- A view: checked through its new definition; a failure keeps the old one.
SELECT name FROM sluice.create_model('tap_g.v', 'SELECT id, amount FROM tap_g.raw', 'view');
CALL sluice.build('tap_g.v');
SELECT name FROM sluice.expect('tap_g.v', 'between', 'amount', args => '{"max_value": 100}', name => 'g_v');
SELECT name FROM sluice.create_model('tap_g.v', 'SELECT id, amount * 100 AS amount FROM tap_g.raw', 'view');
SELECT throws_ok($$CALL sluice.build('tap_g.v')$$, '23514', 'model "tap_g.v" failed its expectations: g_v',
                 'a view failing its expectations fails');
SELECT results_eq('SELECT amount FROM tap_g.v ORDER BY id', $$VALUES (10::numeric), (20::numeric)$$,
                  'the previous view definition stays');

-- An incremental model: new rows are checked in place and rolled back with the mark.
CREATE TABLE tap_g.events (id int, v int);
INSERT INTO tap_g.events VALUES (1, 1), (2, 2);
SELECT name FROM sluice.create_model('tap_g.inc', 'SELECT e.id, e.v FROM tap_g.events e', 'incremental',
                                     '{"input_cursor": "e.id"}');
CALL sluice.build('tap_g.inc');
SELECT name FROM sluice.expect('tap_g.inc', 'between', 'v', args => '{"min_value": 0}', name => 'g_inc');
INSERT INTO tap_g.events VALUES (3, -3);
SELECT throws_ok($$CALL sluice.build('tap_g.inc')$$, '23514', NULL, 'an incremental batch failing its expectations fails');
SELECT is((SELECT count(*) FROM tap_g.inc), 2::bigint, 'none of its rows are published');
DELETE FROM tap_g.events WHERE id = 3;
INSERT INTO tap_g.events VALUES (4, 4);
CALL sluice.build('tap_g.inc');
SELECT results_eq('SELECT id FROM tap_g.inc ORDER BY id', $$VALUES (1), (2), (4)$$,
                  'and its mark did not move: the next build picks up from the last good one');

-- A source: the pulled batch is checked before it commits.
\ir fixtures/events_source.sql
SELECT pg_temp.events_source('tap_g', 'pulled', 'incremental_dedup', 'count=5', '{id}');
SELECT is((sluice.pull('pulled')).rows, 5::bigint, 'the first pull loads');
SELECT name FROM sluice.expect('tap_g.pulled', 'match_regex', 'name', args => '{"regex": "^e[0-9]+$"}', name => 'g_name');
SELECT name FROM sluice.expect('tap_g.pulled', 'row_count_between', args => '{"max_value": 6}', name => 'g_batch');
CREATE TEMP TABLE state_before AS SELECT state FROM sluice.source_state WHERE source_name = 'pulled';
SELECT pg_temp.events_source('tap_g', 'pulled', 'incremental_dedup', 'count=8&updated=2', '{id}');
SELECT throws_ok($$SELECT sluice.pull('pulled')$$, '23514',
                 'source "pulled": the pulled batch failed its expectations: g_name',
                 'a batch failing its expectations is refused, named');
SELECT results_eq('SELECT count(*), count(*) FILTER (WHERE name LIKE ''%v2'') FROM tap_g.pulled',
                  $$VALUES (5::bigint, 0::bigint)$$, 'none of the batch was loaded');
SELECT results_eq('SELECT state FROM sluice.source_state WHERE source_name = ''pulled''',
                  'SELECT state FROM state_before', 'the cursor did not move');
SELECT results_eq($$SELECT expectation, success, element_count FROM sluice.check_result
                    WHERE run_id = (SELECT max(id) FROM sluice.run WHERE target = 'pulled') ORDER BY expectation$$,
                  $$VALUES ('g_batch', true, 6::bigint), ('g_name', false, 6::bigint)$$,
                  'the batch alone was checked (6 rows written by the pull, not the table''s 8), results recorded');

SELECT * FROM finish();
ROLLBACK;
