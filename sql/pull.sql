-- Pulling JSON over HTTP from the fixture server on 127.0.0.1:18765.
\set SHOW_CONTEXT never
CREATE SCHEMA raw;

-- A top-level array; the table is created from the declared columns.
SELECT name FROM sluice.create_source('letters', target => 'raw.letters', config => '{
  "url": "http://127.0.0.1:18765/test/array",
  "columns": [{"name": "id", "type": "bigint"}, {"name": "name", "type": "text"}]}');
SELECT status, rows, details->'pages' AS pages, details->'records' AS records
FROM sluice.pull('letters');
SELECT * FROM raw.letters ORDER BY id;

-- Overwrite (the default) replaces the rows; append adds to them.
SELECT rows FROM sluice.pull('letters');
SELECT count(*) FROM raw.letters;
SELECT name FROM sluice.create_source('letters', target => 'raw.letters', sync_mode => 'full_refresh_append',
  config => '{"url": "http://127.0.0.1:18765/test/array"}');
SELECT rows FROM sluice.pull('letters');
SELECT count(*) FROM raw.letters;

-- Page numbers until an empty page; records under $.data.
SELECT name FROM sluice.create_source('items', target => 'raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/items",
  "records_path": "$.data",
  "pagination": {"type": "page_number", "param": "page"},
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT rows, details->'pages' AS pages FROM sluice.pull('items');
SELECT min(id), max(id), count(DISTINCT id) FROM raw.items;

-- The next page's URL read from the body.
SELECT name FROM sluice.create_source('chain', target => 'raw.chain', config => '{
  "url": "http://127.0.0.1:18765/test/next?page=1",
  "records_path": "$.data",
  "pagination": {"type": "next_url", "path": "$.next"},
  "columns": [{"name": "id", "type": "int"}]}');
SELECT rows, details->'pages' AS pages FROM sluice.pull('chain');

-- Offset and limit, until a short page.
SELECT name FROM sluice.create_source('offsets', target => 'raw.offsets', config => '{
  "url": "http://127.0.0.1:18765/test/offset", "records_path": "$.data",
  "pagination": {"type": "offset", "page_size_param": "limit", "page_size": 5},
  "columns": [{"name": "id", "type": "int"}]}');
SELECT rows, details->'pages' AS pages, details->>'last_url' AS last_url FROM sluice.pull('offsets');

-- A cursor token read from each body.
SELECT name FROM sluice.create_source('cursors', target => 'raw.cursors', config => '{
  "url": "http://127.0.0.1:18765/test/cursor", "records_path": "$.data",
  "pagination": {"type": "cursor", "param": "cursor", "path": "$.meta.next_cursor"},
  "columns": [{"name": "id", "type": "int"}]}');
SELECT rows, details->'pages' AS pages, details->>'last_url' AS last_url FROM sluice.pull('cursors');
SELECT array_agg(id ORDER BY id) FROM raw.cursors;

-- RFC 8288 Link: rel="next" headers, relative targets resolved.
SELECT name FROM sluice.create_source('links', target => 'raw.links', config => '{
  "url": "http://127.0.0.1:18765/test/link", "records_path": "$.data",
  "pagination": {"type": "link_header"},
  "columns": [{"name": "id", "type": "int"}]}');
SELECT rows, details->'pages' AS pages, details->>'last_url' AS last_url FROM sluice.pull('links');

-- A page cap stops any style.
SELECT name FROM sluice.create_source('links', target => 'raw.links', config => '{
  "url": "http://127.0.0.1:18765/test/link", "records_path": "$.data",
  "pagination": {"type": "link_header", "max_pages": 2},
  "columns": [{"name": "id", "type": "int"}]}');
SELECT rows, details->'pages' AS pages FROM sluice.pull('links');

-- Types, nesting, escapes, nulls and missing members, converted by PostgreSQL's input functions.
SELECT name FROM sluice.create_source('mixed', target => 'raw.mixed', config => '{
  "url": "http://127.0.0.1:18765/test/mixed",
  "records_path": "$.data",
  "columns": [
    {"name": "id", "type": "bigint"},
    {"name": "name", "type": "text"},
    {"name": "price", "type": "double precision"},
    {"name": "active", "type": "boolean"},
    {"name": "created_at", "type": "timestamptz"},
    {"name": "tags", "type": "jsonb"},
    {"name": "meta", "type": "jsonb"},
    {"name": "login", "type": "text", "path": "$.user.login"}]}');
SELECT rows FROM sluice.pull('mixed');
SELECT id, name, price, active, created_at AT TIME ZONE 'UTC' AS created_at, tags, meta, login
FROM raw.mixed ORDER BY id;

-- Escapes: \u escapes with a surrogate pair, quotes, backslashes; numbers as written.
SELECT name FROM sluice.create_source('unicode', target => 'raw.unicode', config => '{
  "url": "http://127.0.0.1:18765/test/unicode", "records_path": "$.data",
  "columns": [{"name": "s", "type": "text"}, {"name": "n", "type": "numeric"}, {"name": "o", "type": "jsonb"},
              {"name": "deep", "type": "text", "path": "$.o.k[1].a"}]}');
SELECT rows FROM sluice.pull('unicode');
SELECT s, length(s), n, o, deep FROM raw.unicode ORDER BY n;

-- Bad responses: clear errors, nothing loaded, the table as it was.
SELECT name FROM sluice.create_source('broken', target => 'raw.letters', config => '{"url": "http://127.0.0.1:18765/test/status/404"}');
SELECT sluice.pull('broken');
SELECT name FROM sluice.create_source('broken', target => 'raw.letters', config => '{"url": "http://127.0.0.1:18765/test/status/500", "retry": {"max_attempts": 2, "initial_delay_ms": 10}}');
SELECT sluice.pull('broken');
SELECT name FROM sluice.create_source('broken', target => 'raw.letters', config => '{"url": "http://127.0.0.1:18765/test/notjson"}');
SELECT sluice.pull('broken');
SELECT name FROM sluice.create_source('broken', target => 'raw.letters', config => '{"url": "http://127.0.0.1:18765/test/badjson"}');
SELECT sluice.pull('broken');
SELECT name FROM sluice.create_source('broken', target => 'raw.letters', config => '{"url": "http://127.0.0.1:18765/test/items", "records_path": "$.results"}');
SELECT sluice.pull('broken');
SELECT name FROM sluice.create_source('broken', target => 'raw.letters', config => '{"url": "http://127.0.0.1:18765/test/redirect?to=file:///etc/passwd"}');
SELECT sluice.pull('broken');
SELECT count(*) FROM raw.letters;

-- Each failure is a failed run with its error and SQLSTATE.
SELECT status, sqlstate, error FROM sluice.run WHERE target = 'broken' ORDER BY id;

-- Leave the catalog and the database empty for the next file.
SET client_min_messages = warning;
DELETE FROM sluice.expectation;
DELETE FROM sluice.model;
DELETE FROM sluice.source;
DELETE FROM sluice.dataset;
DELETE FROM sluice.run;
DROP SCHEMA raw CASCADE;
RESET client_min_messages;
