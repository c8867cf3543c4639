-- pgTAP: a table model's rebuild is swapped in: the table keeps its OID, grants, comment,
-- indexes and the views built on it; a rebuild that fails (also in its indexes) changes nothing.
BEGIN;
SELECT plan(14);

CREATE SCHEMA tap_pub;
CREATE TABLE tap_pub.sales (day date, product text, amount numeric);
INSERT INTO tap_pub.sales VALUES ('2026-01-01', 'tea', 10), ('2026-01-01', 'tea', 5), ('2026-01-02', 'cake', 7);
SELECT sluice.create_model('tap_pub.daily',
  'SELECT day, product, sum(amount) AS revenue FROM tap_pub.sales GROUP BY day, product',
  materialized => 'table');
CALL sluice.build('tap_pub.daily');

-- What users add to the published table
CREATE ROLE tap_dashboard;
GRANT USAGE ON SCHEMA tap_pub TO tap_dashboard;
GRANT SELECT ON tap_pub.daily TO tap_dashboard;
COMMENT ON TABLE tap_pub.daily IS 'revenue by day and product';
CREATE UNIQUE INDEX daily_key ON tap_pub.daily (day, product);
CREATE VIEW tap_pub.tea AS SELECT day, revenue FROM tap_pub.daily WHERE product = 'tea';
CREATE TEMP TABLE before AS SELECT 'tap_pub.daily'::regclass::oid AS oid;

INSERT INTO tap_pub.sales VALUES ('2026-01-02', 'tea', 4), ('2026-01-03', 'tea', 1);
CALL sluice.build('tap_pub.daily');

SELECT results_eq('SELECT day, product, revenue FROM tap_pub.daily ORDER BY day, product',
                  $$VALUES ('2026-01-01'::date, 'tea', 15::numeric), ('2026-01-02', 'cake', 7),
                           ('2026-01-02', 'tea', 4), ('2026-01-03', 'tea', 1)$$,
                  'the rebuild published the new rows');
SELECT is('tap_pub.daily'::regclass::oid, (SELECT oid FROM before), 'the table kept its OID');
SELECT results_eq('SELECT day, revenue FROM tap_pub.tea ORDER BY day',
                  $$VALUES ('2026-01-01'::date, 15::numeric), ('2026-01-02', 4), ('2026-01-03', 1)$$,
                  'a view built on the model keeps working and sees the new rows');
SELECT ok(has_table_privilege('tap_dashboard', 'tap_pub.daily', 'SELECT'), 'grants are kept');
SELECT is(obj_description('tap_pub.daily'::regclass, 'pg_class'), 'revenue by day and product',
          'the comment is kept');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT revenue FROM tap_pub.daily WHERE day = '2026-01-03' AND product = 'tea'), 1::numeric,
          'the index was rebuilt over the new rows');
RESET enable_seqscan;
SELECT is((SELECT reltuples FROM pg_class WHERE oid = 'tap_pub.daily'::regclass), 4::real,
          'and the table was analyzed');

-- A rebuild whose rows break the unique index fails whole: old rows, old index.
SELECT sluice.create_model('tap_pub.daily',
  'SELECT day, product, sum(amount) AS revenue FROM tap_pub.sales GROUP BY day, product, amount',
  materialized => 'table');
SELECT throws_ok($$CALL sluice.build('tap_pub.daily')$$, '23505', NULL,
                 'rows that break a unique index fail the build');
SELECT is((SELECT count(*) FROM tap_pub.daily), 4::bigint, 'and the published rows stay');
SELECT is((SELECT status FROM sluice.run WHERE target = 'tap_pub.daily' ORDER BY id DESC LIMIT 1), 'failed',
          'the failed build is recorded');

-- A table the model's owner does not own is not swapped behind its owner's back.
CREATE ROLE tap_builder;
GRANT USAGE, CREATE ON SCHEMA tap_pub TO tap_builder;
GRANT SELECT ON tap_pub.sales TO tap_builder;
SELECT sluice.create_model('tap_pub.daily',
  'SELECT day, product, sum(amount) AS revenue FROM tap_pub.sales GROUP BY day, product',
  materialized => 'table', owner => 'tap_builder');
SELECT throws_ok($$CALL sluice.build('tap_pub.daily')$$, '42501',
                 'model "tap_pub.daily" cannot publish daily: its owner does not own the table',
                 'a model cannot publish over a table its owner does not own');
SELECT is((SELECT count(*) FROM tap_pub.daily), 4::bigint, 'which stays as it was');

-- Unqualified names resolve with the caller's search_path, for the target and the inputs.
SET LOCAL search_path = tap_pub, public;
SELECT is((SELECT format('%s.%s reads %s', target_schema, target_name, depends_on)
           FROM sluice.create_model('unqualified', 'SELECT product FROM sales')),
          'tap_pub.unqualified reads {tap_pub.sales}',
          'a model named without a schema goes to the current schema and finds its inputs there');
SELECT is((SELECT format('%s.%s', target_schema, target_name)
           FROM sluice.create_source('unqualified_src', target => 'landing',
                                     config => '{"url": "http://127.0.0.1:18765/test/array"}')),
          'tap_pub.landing', 'a source''s unqualified target goes to the current schema');
RESET search_path;

SELECT * FROM finish();
ROLLBACK;
