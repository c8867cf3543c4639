-- pgTAP: record formats (NDJSON, CSV, the whole record), schema inference and drift,
-- quarantine and replay, and transfer faults (truncated, stalled, wrong content type).
BEGIN;
SELECT plan(37);

CREATE SCHEMA tap_rec;
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text;
BEGIN EXECUTE q; RETURN NULL;
EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS m = MESSAGE_TEXT; RETURN m;
END $$;

-- NDJSON: one record per line
SELECT sluice.create_source('nd', target => 'tap_rec.nd', config => '{
  "url": "http://127.0.0.1:18765/test/ndjson?count=4", "format": "ndjson",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT is((sluice.pull('nd')).rows, 4::bigint, 'an NDJSON body loads a row per line');
SELECT results_eq('SELECT id, name FROM tap_rec.nd ORDER BY id',
                  $$VALUES (1, 'n1'), (2, 'n2'), (3, 'n3'), (4, 'n4')$$, 'NDJSON values are right');

-- The whole record as jsonb, beside mapped columns
SELECT sluice.create_source('raw', target => 'tap_rec.raw', config => '{
  "url": "http://127.0.0.1:18765/test/mixed", "records_path": "$.data",
  "columns": [{"name": "id", "type": "int"}, {"name": "login", "type": "text", "path": "$.user.login"},
              {"name": "_raw", "type": "jsonb", "path": "$"}]}');
SELECT is((sluice.pull('raw')).rows, 3::bigint, 'records with a _raw column load');
SELECT results_eq($$SELECT login, _raw->'user'->>'login', _raw->>'name' FROM tap_rec.raw WHERE id = 2$$,
                  $$VALUES ('bob', 'bob', 'café ☕')$$, '_raw holds the whole record');

-- A body that arrives a byte at a time: names, values, escapes, nested values and whole records
-- all straddle reads, and load the same
SELECT sluice.create_source('dribble', target => 'tap_rec.dribble', config => '{
  "url": "http://127.0.0.1:18765/test/mixed?dribble=1", "records_path": "$.data",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}, {"name": "meta", "type": "jsonb"},
              {"name": "login", "type": "text", "path": "$.user.login"}, {"name": "_raw", "type": "jsonb", "path": "$"}]}');
SELECT is((sluice.pull('dribble')).rows, 3::bigint, 'a body sent a byte at a time loads');
SELECT results_eq('SELECT d.id, d.name, d.meta, d.login, d._raw = r._raw FROM tap_rec.dribble d JOIN tap_rec.raw r USING (id) ORDER BY id',
                  $$VALUES (1, E'tab\there, newline\nhere, backslash\\here', '{"k": 1}'::jsonb, 'ann', true),
                           (2, 'café ☕', '{"nested": {"x": [1, 2]}}', 'bob', true), (3, NULL, '{}', 'cy', true)$$,
                  'and its values are the same as when it comes whole');
SELECT sluice.create_source('dribble_u', target => 'tap_rec.dribble_u', config => '{
  "url": "http://127.0.0.1:18765/test/unicode?dribble=1", "records_path": "$.data",
  "columns": [{"name": "s", "type": "text"}, {"name": "n", "type": "numeric"}]}');
SELECT is((sluice.pull('dribble_u')).rows, 2::bigint, 'a body of escapes sent a byte at a time loads');
SELECT results_eq('SELECT s, n FROM tap_rec.dribble_u ORDER BY n',
                  $$VALUES (E'\U0001F600 "q" \\ / \b\f end', -1500::numeric), ('', 0)$$,
                  'escapes cut between reads, a surrogate pair among them, decode the same');

-- Malformed members are refused with what is wrong and where, read whole or a byte at a time
SELECT sluice.create_source('malformed', target => 'tap_rec.malformed', config => '{
  "url": "http://127.0.0.1:18765/test/body?text=%5B%7B%22n%22%3A%2001%7D%5D",
  "columns": [{"name": "n", "type": "numeric"}]}');
SELECT is(pg_temp.error_of($$SELECT sluice.pull('malformed')$$),
          'source "malformed": the response from http://127.0.0.1:18765/test/body?text=%5B%7B%22n%22%3A%2001%7D%5D is not valid JSON',
          'a number with a leading zero is not JSON');
SELECT hasnt_table('tap_rec', 'malformed', 'and the table the pull would have made is not there');
CREATE FUNCTION pg_temp.detail_of(source text, body text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
  PERFORM sluice.create_source(source, target => 'tap_rec.malformed', config => jsonb_build_object(
    'url', 'http://127.0.0.1:18765/test/body?text=' || replace(replace(replace(replace(replace(replace(
             body, '%', '%25'), '{', '%7B'), '}', '%7D'), '"', '%22'), ' ', '%20'), ':', '%3A'),
    'columns', '[{"name": "n", "type": "numeric"}]'::jsonb));
  PERFORM sluice.pull(source);
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL; RETURN d;
END $$;
SELECT results_eq($$SELECT pg_temp.detail_of('m' || i, b) FROM unnest(ARRAY[
                      '[{"n": 01}]', '[{"n": 1.}]', '[{"n": -}]', '[{"n": tru}]', '[{"n": nulls}]', '[{"n": 1}, {"n": 2e}]'])
                      WITH ORDINALITY AS t(b, i) ORDER BY i$$,
                  $$VALUES ('invalid number "01" at byte 10 (content type application/json).'),
                           ('invalid number "1." at byte 10 (content type application/json).'),
                           ('invalid number "-" at byte 9 (content type application/json).'),
                           ('invalid literal "tru" at byte 11 (content type application/json).'),
                           ('invalid literal "nulls" at byte 13 (content type application/json).'),
                           ('invalid number "2e" at byte 20 (content type application/json).')$$,
                  'numbers and literals that are not JSON are refused, with the byte');

-- CSV through COPY: delimiter, quotes, empty as NULL, header checked against the columns
SELECT sluice.create_source('csv', kind => 'http_csv', target => 'tap_rec.csv', config => '{
  "url": "http://127.0.0.1:18765/test/csv", "csv": {"delimiter": ";", "header": "match"},
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"},
              {"name": "price", "type": "numeric"}]}');
SELECT is((sluice.pull('csv')).rows, 3::bigint, 'a CSV body loads through COPY');
SELECT results_eq('SELECT id, name, price FROM tap_rec.csv ORDER BY id',
                  $$VALUES (1, 'semi; colon', 1.50), (2, 'quote "q"', NULL), (3, 'plain', 3)$$,
                  'CSV quoting and empty values are COPY''s');
SELECT sluice.create_source('csv', kind => 'http_csv', target => 'tap_rec.csv', config => '{
  "url": "http://127.0.0.1:18765/test/csv?bad=1", "csv": {"delimiter": ";"}}');
SELECT throws_like($$SELECT sluice.pull('csv')$$,
                   'source "csv": a record could not be loaded into tap_rec.csv: invalid input syntax for type numeric%',
                   'a bad CSV value fails the pull, naming the source');
SELECT is((SELECT count(*) FROM tap_rec.csv), 3::bigint, 'and leaves the table as it was');
SELECT sluice.create_source('csv', kind => 'http_csv', target => 'tap_rec.csv', config => '{
  "url": "http://127.0.0.1:18765/test/mixed"}');
SELECT throws_like($$SELECT sluice.pull('csv')$$, '%answered with content type "application/json", not CSV',
                   'a CSV source refuses a JSON body');

-- Schema inference from the first page
SELECT sluice.create_source('infer', target => 'tap_rec.infer', config => '{
  "url": "http://127.0.0.1:18765/test/infer", "records_path": "$.data"}');
SELECT is((sluice.pull('infer')).rows, 2::bigint, 'a source without columns infers them');
SELECT results_eq($$SELECT attname::text COLLATE "default", format_type(atttypid, atttypmod) FROM pg_attribute
                    WHERE attrelid = 'tap_rec.infer'::regclass AND attnum > 0 ORDER BY attnum$$,
                  $$VALUES ('id', 'bigint'), ('amount', 'numeric'), ('ok', 'boolean'),
                           ('at', 'timestamp with time zone'), ('day', 'date'), ('label', 'text'),
                           ('meta', 'jsonb'), ('mixed', 'text'), ('empty', 'text')$$,
                  'types are inferred from the values');
SELECT results_eq($$SELECT amount, at, meta FROM tap_rec.infer ORDER BY id$$,
                  $$VALUES (1.5, '2026-01-02 03:04:05+00'::timestamptz, '{"k": 1}'::jsonb),
                           (2, '2026-01-03 02:05:06+00', '[1]')$$, 'inferred columns hold the values');

-- Schema drift
SELECT sluice.create_source('drift', target => 'tap_rec.drift', schema_drift => 'fail', config => '{
  "url": "http://127.0.0.1:18765/test/drift?version=1", "records_path": "$.data"}');
SELECT is((sluice.pull('drift')).rows, 2::bigint, 'version 1 creates the table');
SELECT sluice.create_source('drift', target => 'tap_rec.drift', schema_drift => 'fail', config => '{
  "url": "http://127.0.0.1:18765/test/drift?version=2", "records_path": "$.data"}');
SELECT throws_ok($$SELECT sluice.pull('drift')$$, '22000',
                 'source "drift": records have members that tap_rec.drift lacks: score, seen_on, tags',
                 'drift policy fail names the new members');
SELECT is((SELECT count(*) FROM tap_rec.drift), 2::bigint, 'and loads nothing');
SELECT sluice.create_source('drift', target => 'tap_rec.drift', schema_drift => 'ignore', config => '{
  "url": "http://127.0.0.1:18765/test/drift?version=2", "records_path": "$.data"}');
SELECT is((sluice.pull('drift')).rows, 3::bigint, 'drift policy ignore loads the known columns');
SELECT hasnt_column('tap_rec', 'drift', 'score', 'and adds no column');
SELECT sluice.create_source('drift', target => 'tap_rec.drift', schema_drift => 'add_columns', config => '{
  "url": "http://127.0.0.1:18765/test/drift?version=2", "records_path": "$.data"}');
SELECT is((sluice.pull('drift')).rows, 3::bigint, 'drift policy add_columns loads every record');
SELECT results_eq($$SELECT score, seen_on, tags FROM tap_rec.drift WHERE id = 3$$,
                  $$VALUES (2.5, '2026-05-01'::date, '["x"]'::jsonb)$$,
                  'the new columns are typed and filled, in the same pull');

-- Quarantine and replay
SELECT sluice.create_source('bad', target => 'tap_rec.bad', on_error => 'quarantine', config => '{
  "url": "http://127.0.0.1:18765/test/badvalues", "records_path": "$.data",
  "columns": [{"name": "id", "type": "int"}, {"name": "qty", "type": "int"}]}');
SELECT is((sluice.pull('bad')).rows, 3::bigint, 'good records load');
SELECT results_eq($$SELECT record, sqlstate, error LIKE '%column qty%' FROM sluice.quarantine
                    WHERE source_name = 'bad' ORDER BY id$$,
                  $$VALUES ('{"id": 2, "qty": "lots"}'::jsonb, '22P02', true),
                           ('{"id": 4, "qty": 1.5}', '22P02', true)$$,
                  'bad records are quarantined whole, with the error and its column');
SELECT is((SELECT details->>'quarantined' FROM sluice.run WHERE target = 'bad' ORDER BY id DESC LIMIT 1),
          '2', 'the run counts them');
ALTER TABLE tap_rec.bad ALTER qty TYPE numeric;
SELECT is((sluice.replay_quarantine('bad')).rows, 1::bigint,
          'after the fix, replay loads the records that fit now');
SELECT results_eq($$SELECT record->>'id', replayed_at IS NULL FROM sluice.quarantine
                    WHERE source_name = 'bad' ORDER BY id$$,
                  $$VALUES ('2', false), ('4', false), ('2', true)$$,
                  'replayed records are marked; the one that still fails is quarantined again');
SELECT results_eq('SELECT id FROM tap_rec.bad ORDER BY id', 'VALUES (1), (3), (4), (5)',
                  'the replayed record is in the table');
SELECT sluice.create_source('bad', target => 'tap_rec.bad', config => '{
  "url": "http://127.0.0.1:18765/test/badvalues", "records_path": "$.data",
  "columns": [{"name": "id", "type": "int"}, {"name": "qty", "type": "numeric"}]}');
SELECT throws_like($$SELECT sluice.pull('bad')$$, '%column qty: "lots"%',
                   'with on_error fail the pull fails');

-- Transfer faults
SELECT sluice.create_source('cut', target => 'tap_rec.cut', config => '{
  "url": "http://127.0.0.1:18765/test/truncated", "records_path": "$.data",
  "columns": [{"name": "id", "type": "int"}], "retry": {"max_attempts": 1}}');
SELECT throws_like($$SELECT sluice.pull('cut')$$, 'source "cut": could not fetch %/test/truncated',
                   'a body cut short fails the pull');
SET LOCAL sluice.http_stall_timeout = '1s';
SELECT sluice.create_source('stall', target => 'tap_rec.cut', config => '{
  "url": "http://127.0.0.1:18765/test/stall?seconds=3", "records_path": "$.data",
  "retry": {"max_attempts": 1}}');
SELECT is(pg_temp.error_of($$SELECT sluice.pull('stall')$$),
          'source "stall": http://127.0.0.1:18765/test/stall?seconds=3 sent nothing for 1 s',
          'a server that stalls mid-body is given up on');
SELECT sluice.create_source('html', target => 'tap_rec.cut', config => '{
  "url": "http://127.0.0.1:18765/test/notjson", "columns": [{"name": "id", "type": "int"}]}');
SELECT throws_ok($$SELECT sluice.pull('html')$$, '38000',
                 'source "html": http://127.0.0.1:18765/test/notjson answered with content type "text/html", not JSON',
                 'a JSON source refuses an HTML page');
SELECT hasnt_table('tap_rec', 'cut', 'failed pulls created nothing');

SELECT * FROM finish();
ROLLBACK;
