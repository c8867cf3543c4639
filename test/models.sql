-- pgTAP: models run as their owner, publish whole or not at all, and record lineage.
BEGIN;
SELECT plan(16);

CREATE SCHEMA tap_src;
CREATE SCHEMA tap_mart;
CREATE TABLE tap_src.orders (id int, amount numeric);
INSERT INTO tap_src.orders SELECT g, g * 10 FROM generate_series(1, 5) g;
CREATE TABLE tap_src.salaries (who text, pay numeric);

CREATE ROLE tap_analyst;
GRANT USAGE ON SCHEMA tap_src TO tap_analyst;
GRANT USAGE, CREATE ON SCHEMA tap_mart TO tap_analyst;
GRANT SELECT ON tap_src.orders TO tap_analyst;

-- The analyst's model builds with the analyst's privileges, even when a superuser runs the build.
SET LOCAL ROLE tap_analyst;
SELECT sluice.create_model('tap_mart.totals', 'SELECT count(*) AS n, sum(amount) AS total FROM tap_src.orders',
                           materialized => 'table');
RESET ROLE;
CALL sluice.build('tap_mart.totals');
SELECT results_eq('SELECT n, total FROM tap_mart.totals', $$VALUES (5::bigint, 150::numeric)$$,
                  'a table model holds its query''s rows');
SELECT is((SELECT tableowner::text FROM pg_tables WHERE schemaname = 'tap_mart' AND tablename = 'totals'),
          'tap_analyst', 'the relation belongs to the model''s owner');

-- A model over a table its owner cannot read fails with permission denied, whoever builds it.
SET LOCAL ROLE tap_analyst;
SELECT sluice.create_model('tap_mart.pay', 'SELECT who, pay FROM tap_src.salaries');
RESET ROLE;
SELECT throws_ok($$CALL sluice.build('tap_mart.pay')$$, '42501', NULL,
                 'the owner''s missing SELECT privilege fails the model even for a superuser');
SELECT is((SELECT status || ': ' || error FROM sluice.run WHERE target = 'tap_mart.pay' ORDER BY id DESC LIMIT 1),
          'failed: permission denied for table salaries', 'and the failure is recorded');

-- Another role cannot build, change or drop the analyst's models.
CREATE ROLE tap_other;
SET LOCAL ROLE tap_other;
SELECT throws_ok($$CALL sluice.build('tap_mart.totals')$$, '42501', 'permission denied for model "tap_mart.totals"',
                 'a non-member cannot build someone else''s model');
SELECT throws_ok($$SELECT sluice.create_model('tap_mart.totals', 'SELECT 1')$$, '42501', NULL,
                 'nor redefine it');
SELECT throws_ok($$SELECT sluice.drop_model('tap_mart.totals')$$, '42501', NULL, 'nor drop it');
UPDATE sluice.model SET sql = 'SELECT 1' WHERE name = 'tap_mart.totals';
RESET ROLE;
SELECT unalike((SELECT sql FROM sluice.model WHERE name = 'tap_mart.totals'), 'SELECT 1',
               'nor edit the catalog row directly (row-level security)');

-- A failing rebuild leaves the published data exactly as it was.
SELECT sluice.create_model('tap_mart.totals', 'SELECT count(*) AS n, sum(amount) / 0 AS total FROM tap_src.orders',
                           materialized => 'table', owner => 'tap_analyst');
SELECT throws_ok($$CALL sluice.build('tap_mart.totals')$$, '22012', NULL, 'division by zero fails the build');
SELECT results_eq('SELECT n, total FROM tap_mart.totals', $$VALUES (5::bigint, 150::numeric)$$,
                  'the previous rows are still published');

-- Readers never see an empty table during a rebuild: it is replaced inside one transaction.
SELECT sluice.create_model('tap_mart.totals', 'SELECT count(*) AS n, sum(amount) AS total FROM tap_src.orders',
                           materialized => 'table', owner => 'tap_analyst');
INSERT INTO tap_src.orders VALUES (6, 60);
CALL sluice.build('tap_mart.totals');
SELECT results_eq('SELECT n, total FROM tap_mart.totals', $$VALUES (6::bigint, 210::numeric)$$,
                  'a rebuild publishes the new rows');

-- Lineage of the build
SELECT set_eq($$SELECT dataset FROM sluice.upstream('tap_mart.totals')$$, $$VALUES ('tap_src.orders')$$,
              'the build recorded the table the model reads');
SELECT is((SELECT rows FROM sluice.run WHERE target = 'tap_mart.totals' AND status = 'success' ORDER BY id DESC LIMIT 1),
          1::bigint, 'the run records the rows written');

-- A declared contract is checked at every build; a break leaves the table as it was
SELECT count(*) FROM sluice.create_model('tap_mart.contracted', 'SELECT id, amount FROM tap_src.orders', 'table',
  '{"contract": [{"name": "id", "type": "integer"}, {"name": "amount", "type": "numeric"}]}');
CALL sluice.build('tap_mart.contracted');
SELECT is((SELECT count(*) FROM tap_mart.contracted), (SELECT count(*) FROM tap_src.orders), 'a model that keeps its contract builds');
SELECT count(*) FROM sluice.create_model('tap_mart.contracted', 'SELECT id::bigint AS id, amount FROM tap_src.orders WHERE id < 3', 'table',
  '{"contract": [{"name": "id", "type": "integer"}, {"name": "amount", "type": "numeric"}]}');
SELECT throws_ok($$CALL sluice.build('tap_mart.contracted')$$, '42804',
  'model "tap_mart.contracted" breaks its contract at column 1: it returns id bigint, the contract says id integer',
  'a model that breaks its contract fails, naming the column and both types');
SELECT is((SELECT count(*) FROM tap_mart.contracted), (SELECT count(*) FROM tap_src.orders), 'and its table keeps the old rows');

SELECT * FROM finish();
ROLLBACK;
