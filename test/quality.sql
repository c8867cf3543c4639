-- pgTAP: every expectation kind passing and failing, nulls, mostly, row_filter, severities,
-- history, the shared scan, and whose privileges checks use.
BEGIN;
SELECT plan(72);

CREATE SCHEMA tap_q;
CREATE TABLE tap_q.ref (id int PRIMARY KEY);
INSERT INTO tap_q.ref VALUES (1), (2), (3);
-- Ten rows: one null name, one null status, one reference to nothing.
CREATE TABLE tap_q.t (id int PRIMARY KEY, name text, amount numeric, status text, ref int,
                      created timestamptz);
INSERT INTO tap_q.t
SELECT g, CASE WHEN g = 10 THEN NULL ELSE 'n' || g END, g * 10,
       CASE WHEN g = 9 THEN NULL WHEN g % 2 = 0 THEN 'paid' ELSE 'open' END,
       CASE WHEN g = 10 THEN 99 ELSE g % 3 + 1 END, now() - g * interval '1 minute'
FROM generate_series(1, 10) g;

-- One ad-hoc check's outcome.
CREATE FUNCTION pg_temp.ok(kind text, col text, args jsonb DEFAULT '{}', mostly float8 DEFAULT 1,
                           row_filter text DEFAULT NULL)
RETURNS boolean LANGUAGE sql AS $$
    SELECT success FROM sluice.check('tap_q.t', kind, col, args, mostly, row_filter)
$$;
CREATE FUNCTION pg_temp.outcome(kind text, col text, args jsonb DEFAULT '{}', mostly float8 DEFAULT 1,
                                row_filter text DEFAULT NULL)
RETURNS TABLE (success boolean, observed_value jsonb, element_count bigint, missing_count bigint,
               unexpected_count bigint, unexpected_percent numeric, partial_unexpected_list jsonb)
LANGUAGE sql AS $$
    SELECT success, observed_value, element_count, missing_count, unexpected_count,
           unexpected_percent, partial_unexpected_list
    FROM sluice.check('tap_q.t', kind, col, args, mostly, row_filter)
$$;

-- Column values: nulls are ignored by every value check, counted by not_null.
SELECT ok(pg_temp.ok('not_null', 'id'), 'not_null passes on a column without nulls');
SELECT results_eq($$SELECT success, missing_count, unexpected_count, unexpected_percent FROM pg_temp.outcome('not_null', 'name')$$,
                  $$VALUES (false, 1::bigint, 1::bigint, 10.0000::numeric)$$,
                  'not_null fails and counts the null against all rows');
SELECT ok(pg_temp.ok('not_null', 'name', mostly => 0.9), 'mostly 0.9 holds when exactly 90% are not null');
SELECT ok(NOT pg_temp.ok('not_null', 'name', mostly => 0.95), 'mostly 0.95 does not');

SELECT ok(pg_temp.ok('unique', 'name'), 'unique passes, ignoring the null');
SELECT results_eq($$SELECT success, unexpected_count, observed_value, partial_unexpected_list FROM pg_temp.outcome('unique', 'status')$$,
                  $$VALUES (false, 9::bigint, '{"duplicated_values": 2}'::jsonb, '["paid", "open"]'::jsonb)$$,
                  'unique fails: every non-null row whose value repeats, and the values');
SELECT is((SELECT observed_value FROM pg_temp.outcome('unique', 'id')), '{"proved_by_index": "t_pkey"}',
          'a unique index proves uniqueness without reading the table');
SELECT ok((SELECT success FROM sluice.check('tap_q.t', 'unique', args => '{"columns": ["status", "ref"]}')) = false,
          'unique over several columns fails when a combination repeats');
SELECT ok((SELECT success FROM sluice.check('tap_q.t', 'unique', args => '{"columns": ["id", "status"]}')),
          'and passes when none does');

SELECT ok(pg_temp.ok('in_set', 'status', '{"values": ["paid", "open"]}'), 'in_set passes; the null is ignored');
SELECT results_eq($$SELECT success, missing_count, unexpected_count, unexpected_percent FROM pg_temp.outcome('in_set', 'status', '{"values": ["paid"]}')$$,
                  $$VALUES (false, 1::bigint, 4::bigint, 44.4444::numeric)$$,
                  'in_set fails: the percent is of the non-null values');
SELECT ok(pg_temp.ok('not_in_set', 'status', '{"values": ["void"]}'), 'not_in_set passes');
SELECT ok(NOT pg_temp.ok('not_in_set', 'status', '{"values": ["open"]}'), 'not_in_set fails');

SELECT ok(pg_temp.ok('between', 'amount', '{"min_value": 10, "max_value": 100}'), 'between is inclusive');
SELECT ok(NOT pg_temp.ok('between', 'amount', '{"min_value": 10, "max_value": 100, "strict_max": true}'),
          'strict_max excludes the bound');
SELECT ok(NOT pg_temp.ok('between', 'amount', '{"min_value": 10, "strict_min": true}'), 'strict_min excludes the bound');
SELECT ok(pg_temp.ok('between', 'created', jsonb_build_object('max_value', now())),
          'between compares in the column''s type (timestamps)');
SELECT ok(NOT pg_temp.ok('between', 'amount', '{"max_value": 50}'), 'between fails above the bound');
SELECT ok(pg_temp.ok('between', 'amount', '{"max_value": 50}', row_filter => 'id <= 5'),
          'row_filter restricts the rows checked');
SELECT is((SELECT element_count FROM pg_temp.outcome('between', 'amount', '{"max_value": 50}', row_filter => 'id <= 5')),
          5::bigint, 'and the rows counted');

SELECT ok(pg_temp.ok('match_regex', 'name', '{"regex": "^n[0-9]+$"}'), 'match_regex passes');
SELECT ok(NOT pg_temp.ok('match_regex', 'name', '{"regex": "^n[0-5]$"}'), 'match_regex fails');
SELECT ok(pg_temp.ok('not_match_regex', 'name', '{"regex": "x"}'), 'not_match_regex passes');
SELECT ok(NOT pg_temp.ok('not_match_regex', 'name', '{"regex": "1"}'), 'not_match_regex fails');
SELECT ok(pg_temp.ok('length_between', 'name', '{"min_value": 2, "max_value": 2}'), 'length_between passes');
SELECT ok(NOT pg_temp.ok('length_between', 'name', '{"max_value": 1}'), 'length_between fails');

SELECT ok(pg_temp.ok('relationship', 'ref', '{"to": "tap_q.ref", "field": "id"}', row_filter => 'id < 10'),
          'relationship passes when every value is found');
SELECT results_eq($$SELECT success, unexpected_count, partial_unexpected_list FROM pg_temp.outcome('relationship', 'ref', '{"to": "tap_q.ref", "field": "id"}')$$,
                  $$VALUES (false, 1::bigint, '[99]'::jsonb)$$, 'relationship fails and shows the orphan');

-- Column aggregates (values 10..100).
SELECT ok(pg_temp.ok('min_between', 'amount', '{"min_value": 10, "max_value": 10}'), 'min_between passes');
SELECT ok(NOT pg_temp.ok('min_between', 'amount', '{"min_value": 11}'), 'min_between fails');
SELECT ok(pg_temp.ok('max_between', 'amount', '{"max_value": 100}'), 'max_between passes');
SELECT ok(NOT pg_temp.ok('max_between', 'amount', '{"max_value": 99}'), 'max_between fails');
SELECT is((SELECT observed_value FROM pg_temp.outcome('mean_between', 'amount', '{"min_value": 55, "max_value": 55}')),
          '55.0000000000000000'::jsonb, 'mean_between observes the mean');
SELECT ok(NOT pg_temp.ok('mean_between', 'amount', '{"min_value": 56}'), 'mean_between fails');
SELECT ok(pg_temp.ok('sum_between', 'amount', '{"min_value": 550, "max_value": 550}'), 'sum_between passes');
SELECT ok(NOT pg_temp.ok('sum_between', 'amount', '{"max_value": 549}'), 'sum_between fails');
SELECT ok(pg_temp.ok('median_between', 'amount', '{"min_value": 55, "max_value": 55}'), 'median_between passes');
SELECT ok(NOT pg_temp.ok('median_between', 'amount', '{"min_value": 60}'), 'median_between fails');
SELECT ok(pg_temp.ok('distinct_count_between', 'status', '{"min_value": 2, "max_value": 2}'),
          'distinct_count_between passes; the null is not a value');
SELECT ok(NOT pg_temp.ok('distinct_count_between', 'status', '{"min_value": 3}'), 'distinct_count_between fails');
SELECT is((SELECT observed_value::numeric FROM pg_temp.outcome('unique_proportion_between', 'name', '{"min_value": 1}')),
          1::numeric, 'unique_proportion_between observes distinct / non-null values');
SELECT ok(NOT pg_temp.ok('unique_proportion_between', 'status', '{"min_value": 0.5}'),
          'unique_proportion_between fails');

-- Table kinds.
SELECT ok((SELECT success FROM sluice.check('tap_q.t', 'row_count_between', args => '{"min_value": 10, "max_value": 10}')),
          'row_count_between passes');
SELECT ok(NOT (SELECT success FROM sluice.check('tap_q.t', 'row_count_between', args => '{"min_value": 11}')),
          'row_count_between fails');
SELECT ok(pg_temp.ok('column_exists', 'amount', '{"type": "numeric"}'), 'column_exists passes with its type');
SELECT ok(NOT pg_temp.ok('column_exists', 'amount', '{"type": "integer"}'), 'column_exists fails on another type');
SELECT is((SELECT observed_value FROM pg_temp.outcome('column_exists', 'nope')), '{"exists": false}',
          'column_exists fails on a missing column (no error)');
SELECT ok(pg_temp.ok('freshness', 'created', '{"max_age": "5 minutes"}'), 'freshness passes');
SELECT ok(NOT pg_temp.ok('freshness', 'created', '{"max_age": "30 seconds"}'), 'freshness fails');
SELECT ok(NOT pg_temp.ok('freshness', 'created', '{"max_age": "1 day"}', row_filter => 'false'),
          'freshness fails when no row has a timestamp');
SELECT ok((SELECT success FROM sluice.check('tap_q.t', 'custom_sql', args => '{"sql": "SELECT * FROM tap_q.t WHERE amount < 0"}')),
          'custom_sql passes when its query returns nothing');
SELECT results_eq($$SELECT success, unexpected_count, jsonb_array_length(partial_unexpected_list)
                    FROM sluice.check('tap_q.t', 'custom_sql', args => '{"sql": "SELECT id FROM tap_q.t WHERE amount > 70"}')$$,
                  $$VALUES (false, 3::bigint, 3)$$, 'custom_sql fails with its rows as the failures');

-- Samples are capped at 20 values.
INSERT INTO tap_q.t SELECT g, 'bulk', -1, 'open', 1, now() FROM generate_series(11, 60) g;
SELECT results_eq($$SELECT unexpected_count, jsonb_array_length(partial_unexpected_list) FROM pg_temp.outcome('between', 'amount', '{"min_value": 0}')$$,
                  $$VALUES (50::bigint, 20)$$, 'up to 20 unexpected values are sampled');
DELETE FROM tap_q.t WHERE id > 10;

-- Saved expectations: one shared scan, results recorded, severities.
SELECT name FROM sluice.expect('tap_q.t', 'not_null', 'id', name => 'q_id');
SELECT name FROM sluice.expect('tap_q.t', 'between', 'amount', args => '{"min_value": 0}', name => 'q_amount');
SELECT name FROM sluice.expect('tap_q.t', 'in_set', 'status', args => '{"values": ["paid", "open"]}', name => 'q_status');
SELECT name FROM sluice.expect('tap_q.t', 'match_regex', 'name', args => '{"regex": "^n"}', name => 'q_name');
SELECT name FROM sluice.expect('tap_q.t', 'mean_between', 'amount', args => '{"min_value": 1}', name => 'q_mean');
SELECT name FROM sluice.expect('tap_q.t', 'row_count_between', args => '{"min_value": 1}', name => 'q_rows');
SELECT name FROM sluice.expect('tap_q.t', 'unique', 'id', name => 'q_unique');
SELECT is((SELECT count(*) FROM sluice.check('tap_q.t') WHERE success), 7::bigint, 'seven expectations pass');
SELECT is((SELECT details->'checks'->'scans' FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1),
          '1'::jsonb, 'they take one scan of the relation (uniqueness proved by the primary key)');
SELECT is((SELECT count(*) FROM sluice.check_result WHERE run_id = (SELECT max(id) FROM sluice.run)), 7::bigint,
          'one result per expectation is recorded with the run');

SELECT name FROM sluice.expect('tap_q.t', 'not_null', 'name', severity => 'warn', name => 'q_name_present');
SELECT is((SELECT status FROM sluice.quality WHERE expectation = 'q_name_present'), 'not run',
          'sluice.quality: a new expectation has not run');
SELECT count(*) FROM sluice.check('tap_q.t');
SELECT is((SELECT status FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1), 'success',
          'a failing warning leaves the check run successful');
SELECT is((SELECT status FROM sluice.quality WHERE expectation = 'q_name_present'), 'warning',
          'sluice.quality shows it as a warning');
SELECT name FROM sluice.expect('tap_q.t', 'not_null', 'name', severity => 'error', name => 'q_name_present');
SELECT count(*) FROM sluice.check('tap_q.t');
SELECT is((SELECT error FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1),
          '1 of 8 expectations failed on tap_q.t: q_name_present', 'an error-severity failure fails the run, named');
SELECT is((SELECT status FROM sluice.quality WHERE expectation = 'q_name_present'), 'failing', 'and shows as failing');
SELECT is((SELECT count(*) FROM sluice.quality_history WHERE expectation = 'q_name_present'), 2::bigint,
          'sluice.quality_history keeps every result');

-- Volume anomaly: learns from three successful checks, then flags an outlier.
SELECT name FROM sluice.expect('tap_q.t', 'volume_anomaly', args => '{"k": 2}', name => 'q_volume');
DELETE FROM sluice.expectation WHERE name LIKE 'q\_%' AND name <> 'q_volume';
SELECT ok((SELECT success FROM sluice.check('tap_q.t')), 'volume_anomaly passes while it learns (1)');
SELECT ok((SELECT success FROM sluice.check('tap_q.t')), 'volume_anomaly passes while it learns (2)');
SELECT ok((SELECT success FROM sluice.check('tap_q.t')), 'volume_anomaly passes while it learns (3)');
INSERT INTO tap_q.t SELECT g, 'n' || g, 1, 'open', 1, now() FROM generate_series(11, 11) g;
SELECT ok((SELECT success FROM sluice.check('tap_q.t')) = false, 'a row count off its steady history fails');
SELECT is((SELECT observed_value->>'history' FROM sluice.quality WHERE expectation = 'q_volume'), '3',
          'judged against the successful checks before it');

-- Privileges: checks read as the expectation's owner; results show values to readers only.
CREATE ROLE tap_q_owner;
CREATE ROLE tap_q_outsider;
CREATE TABLE tap_q.secret (id int);
GRANT USAGE ON SCHEMA tap_q TO tap_q_owner, tap_q_outsider;
GRANT SELECT ON tap_q.t TO tap_q_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON tap_q.t TO tap_q_outsider;
REVOKE SELECT ON tap_q.t FROM tap_q_outsider;
SET LOCAL ROLE tap_q_owner;
SELECT throws_ok($$SELECT sluice.expect('tap_q.t', 'relationship', 'ref', args => '{"to": "tap_q.secret", "field": "id"}')$$,
                 '42501', 'expectation "relationship_tap_q_t_ref": its owner "tap_q_owner" may not read tap_q.secret',
                 'a relationship to a relation the owner cannot read is refused, named');
SELECT name FROM sluice.expect('tap_q.t', 'custom_sql', args => '{"sql": "SELECT * FROM tap_q.secret"}', name => 'q_sneaky');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM sluice.check('tap_q.t')$$, '42501', NULL,
                 'custom SQL runs with its owner''s privileges, even when a superuser checks');
DELETE FROM sluice.expectation WHERE name = 'q_sneaky';
SET LOCAL ROLE tap_q_outsider;
SELECT throws_ok($$SELECT * FROM sluice.check('tap_q.t')$$, '42501', 'permission denied to check tap_q.t',
                 'checking needs SELECT on the relation (results show its values)');
SELECT is((SELECT count(*) FROM sluice.quality WHERE expectation = 'q_volume' AND partial_unexpected_list IS NULL),
          1::bigint, 'sluice.quality is readable, without samples for a role that cannot read the relation');
SELECT throws_ok($$SELECT partial_unexpected_list FROM sluice.check_result$$, '42501', NULL,
                 'and check_result''s samples are not granted to it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
