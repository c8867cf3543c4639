-- pgTAP: sync modes and state: incremental append and dedup, cursor state, reset, checkpoints.
BEGIN;
SELECT plan(21);

CREATE SCHEMA tap_sync;
\ir fixtures/events_source.sql

-- incremental_append: only records past the stored cursor
SELECT pg_temp.events_source('tap_sync', 'appends', 'incremental_append', 'count=10');
SELECT is((sluice.pull('appends')).rows, 10::bigint, 'the first incremental pull loads every record');
SELECT is((SELECT state->>'cursor' FROM sluice.source_state WHERE source_name = 'appends'),
          '2026-01-01T00:10:00+00:00', 'the cursor state is the latest updated_at loaded');
SELECT is((sluice.pull('appends')).rows, 0::bigint,
          'a second pull loads nothing: the server resends the record at the cursor, sluice skips it');
SELECT alike((SELECT details->>'last_url' FROM sluice.run WHERE target = 'appends' ORDER BY id DESC LIMIT 1),
            '%since=2026-01-01T00%3a10%3a00%2b00%3a00%', 'the stored cursor is sent as the cursor_param');
SELECT pg_temp.events_source('tap_sync', 'appends', 'incremental_append', 'count=10&updated=3');
SELECT is((sluice.pull('appends')).rows, 3::bigint, 'changed records past the cursor are appended');
SELECT results_eq($$SELECT count(*), count(DISTINCT id) FROM tap_sync.appends$$,
                  $$VALUES (13::bigint, 10::bigint)$$, 'append keeps every version');

-- incremental_dedup: upsert on the primary key, the latest cursor wins
SELECT pg_temp.events_source('tap_sync', 'dedups', 'incremental_dedup', 'count=10&updated=3', '{id}');
SELECT is((sluice.pull('dedups')).rows, 10::bigint, 'one row per key, even with two versions in one pull');
SELECT results_eq($$SELECT name FROM tap_sync.dedups WHERE id IN (1, 4) ORDER BY id$$,
                  $$VALUES ('e1 v2'), ('e4')$$, 'the record with the latest cursor won');
SELECT has_pk('tap_sync', 'dedups', 'the target made for a dedup source has the primary key');
SELECT pg_temp.events_source('tap_sync', 'dedups', 'incremental_dedup', 'count=10&updated=5', '{id}');
SELECT is((sluice.pull('dedups')).rows, 3::bigint,
          'the record at the cursor is upserted again (harmless) and two newer versions land');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE name LIKE '% v2') FROM tap_sync.dedups$$,
                  $$VALUES (10::bigint, 5::bigint)$$, 'still one row per key, five updated');

-- dedup into an existing table without a unique key: a clear error
CREATE TABLE tap_sync.nokey (id int, name text, updated_at timestamptz);
SELECT sluice.create_source('nokey', target => 'tap_sync.nokey', sync_mode => 'incremental_dedup',
    cursor_field => 'updated_at', primary_key => '{id}',
    config => '{"url": "http://127.0.0.1:18765/test/events?count=2", "records_path": "$.data"}');
SELECT throws_ok($$SELECT sluice.pull('nokey')$$, '42P10',
                 'source "nokey": incremental_dedup needs a unique index on (id) of tap_sync.nokey',
                 'dedup without a unique key names what is missing');

-- A failed pull leaves rows and state exactly as they were
SELECT sluice.create_source('appends', target => 'tap_sync.appends', sync_mode => 'incremental_append',
    cursor_field => 'updated_at',
    config => '{"url": "http://127.0.0.1:18765/test/status/500", "records_path": "$.data",
                "retry": {"max_attempts": 1}}');
CREATE TEMP TABLE state_before AS SELECT state FROM sluice.source_state WHERE source_name = 'appends';
SELECT throws_like($$SELECT sluice.pull('appends')$$, '%answered HTTP 500%', 'the server fails');
SELECT results_eq($$SELECT state FROM sluice.source_state WHERE source_name = 'appends'$$,
                  $$SELECT state FROM state_before$$, 'the cursor state is unchanged');
SELECT is((SELECT count(*) FROM tap_sync.appends), 13::bigint, 'the rows are unchanged');

-- reset_state: the next pull starts over
SELECT pg_temp.events_source('tap_sync', 'appends', 'incremental_append', 'count=10');
SELECT sluice.reset_state('appends');
SELECT is((sluice.pull('appends')).rows, 10::bigint, 'after reset_state every record is pulled again');

-- Checkpointed pulls: refused where they cannot work
SELECT throws_ok($$CALL sluice.pull_checkpointed('appends', 2)$$, '25001',
                 'sluice.pull_checkpointed cannot commit inside a transaction block',
                 'a checkpointed pull inside a transaction block is refused');
SELECT sluice.create_source('whole', target => 'tap_sync.whole',
    config => '{"url": "http://127.0.0.1:18765/test/array", "columns": [{"name": "id", "type": "int"}]}');
SELECT throws_ok($$CALL sluice.pull_checkpointed('whole', 2)$$, '0A000',
                 'source "whole" is full_refresh_overwrite: its rows are replaced all at once',
                 'an overwrite cannot checkpoint');
SELECT throws_ok($$CALL sluice.pull_checkpointed('whole', 0)$$, '22023',
                 'every_pages must be at least 1, not 0', 'checkpoint spacing is checked');

-- Other roles cannot see a source's state
CREATE ROLE tap_sync_other;
SET LOCAL ROLE tap_sync_other;
SELECT is((SELECT count(*) FROM sluice.source_state), 0::bigint, 'state is hidden from non-members');
SELECT throws_ok($$SELECT sluice.reset_state('appends')$$, '42501', NULL,
                 'a non-member cannot reset the state');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
