-- Definitions: sources, models and expectations, and every way to get them wrong.
\set SHOW_CONTEXT never
CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE TABLE raw.people (id bigint, name text);

-- Sources
SELECT name, kind, target_schema, target_name, sync_mode
FROM sluice.create_source('people', target => 'raw.people',
                          config => '{"url": "http://127.0.0.1:18765/test/array"}');
-- redefining by name replaces the definition
SELECT name, sync_mode
FROM sluice.create_source('people', target => 'raw.people', sync_mode => 'full_refresh_append',
                          config => '{"url": "http://127.0.0.1:18765/test/array"}');
SELECT count(*) FROM sluice.source;

SELECT sluice.create_source('s', kind => 'ftp', target => 'raw.x', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'raw.x', sync_mode => 'sometimes', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'nowhere.x', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "not a url"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "file:///etc/passwd"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "gopher://h/"}');
-- sync modes, keys and record policies
SELECT sluice.create_source('s', target => 'raw.x', sync_mode => 'incremental_append', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'raw.x', sync_mode => 'incremental_dedup', cursor_field => 'updated_at', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'raw.x', sync_mode => 'incremental_append', cursor_field => 'updated', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}]}');
SELECT sluice.create_source('s', target => 'raw.x', on_error => 'skip', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'raw.x', schema_drift => 'evolve', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', kind => 'http_csv', target => 'raw.x', on_error => 'quarantine', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', kind => 'http_csv', target => 'raw.x', config => '{"url": "http://h/", "csv": {"delimiter": ";;"}, "columns": [{"name": "id", "type": "int"}]}');
SELECT sluice.create_source('s', kind => 'http_csv', target => 'raw.x', config => '{"url": "http://h/", "csv": {"header": "yes"}, "columns": [{"name": "id", "type": "int"}]}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "format": "ndjson", "records_path": "$.data"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "format": "xml"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "recods_path": "$.data"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "records_path": "data"}');
SELECT sluice.create_source('s', kind => 'http_csv', target => 'raw.x', config => '{"url": "http://h/"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "bigbig"}]}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id"}]}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [], "pagination": {"type": "cursor"}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "pagination": {"type": "scroll"}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "pagination": {"type": "offset"}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "auth": {"type": "bearer"}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "auth": {"type": "api_key", "secret": "k"}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "body": {"q": 1}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "method": "DELETE"}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "retry": {"max_attempts": 0}}');
SELECT sluice.create_source('s', target => 'raw.x', config => '{"url": "http://h/", "columns": [{"name": "id", "type": "int"}], "headers": {"X-A": 1}}');
SELECT count(*) FROM sluice.source WHERE name = 's';

SELECT sluice.pull('nope');
SELECT sluice.drop_source('nope');

-- Models: dependencies come from the parser, cycles and bad SQL are refused
SELECT name, materialized, target_schema, target_name, depends_on
FROM sluice.create_model('staging.people', $$SELECT id, initcap(name) AS name FROM raw.people$$);
SELECT name, depends_on
FROM sluice.create_model('staging.people_count', $$
    WITH p AS (SELECT * FROM staging.people)
    SELECT count(*) AS n FROM p WHERE id IN (SELECT id FROM raw.people)
$$, materialized => 'table');
SELECT sluice.create_model('staging.bad', 'SELEC 1');
SELECT sluice.create_model('staging.bad', 'SELECT 1; SELECT 2');
SELECT sluice.create_model('staging.bad', 'DELETE FROM raw.people');
SELECT sluice.create_model('staging.bad', 'WITH d AS (DELETE FROM raw.people RETURNING *) SELECT * FROM d');
SELECT sluice.create_model('staging.bad', 'SELECT * FROM raw.missing');
SELECT sluice.create_model('staging.bad', 'SELECT 1', materialized => 'ephemeral');
SELECT name FROM sluice.create_model('staging.a', 'SELECT 1 AS x');
SELECT name FROM sluice.create_model('staging.b', 'SELECT * FROM staging.a');
SELECT sluice.create_model('staging.a', 'SELECT * FROM staging.b');
SELECT sql FROM sluice.model WHERE name = 'staging.a';
CALL sluice.build('staging.nope');
SELECT sluice.drop_model('staging.nope');

-- Expectations
SELECT name, target, kind, column_name, severity FROM sluice.expect('raw.people', 'not_null', 'id');
SELECT name FROM sluice.expect('raw.people', 'unique', 'id', severity => 'warn', name => 'people_id_unique');
SELECT sluice.expect('raw.people', 'not_null', 'nope');
SELECT sluice.expect('raw.people', 'positive', 'id');
SELECT sluice.expect('raw.people', 'unique', 'id', severity => 'fatal');
SELECT sluice.expect('raw.nope', 'unique', 'id');
SELECT sluice.drop_expectation('nope');

-- Secrets
SELECT sluice.create_secret('token', 's3cret-token');
SELECT name, owner FROM sluice.secrets;
SELECT sluice.create_secret(NULL, 'x');
SELECT sluice.drop_secret('nope');

-- Leave the catalog and the database empty for the next file.
SET client_min_messages = warning;
DELETE FROM sluice.expectation;
DELETE FROM sluice.model;
DELETE FROM sluice.source;
DELETE FROM sluice.dataset;
DELETE FROM sluice.run;
DROP SCHEMA raw, staging CASCADE;
RESET client_min_messages;
