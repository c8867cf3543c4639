-- pgTAP: pulls against the fixture server: auth, secrets, faults, limits, atomicity.
BEGIN;
SELECT plan(36);

CREATE SCHEMA tap_raw;
CREATE TABLE tap_raw.items (id int PRIMARY KEY, name text);
INSERT INTO tap_raw.items VALUES (100, 'kept');

-- Bearer auth from a secret
SELECT sluice.create_secret('tap_token', 's3cret-token');
SELECT sluice.create_source('tap_bearer', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/bearer", "records_path": "$.data",
  "auth": {"type": "bearer", "secret": "tap_token"}}');
SELECT is((sluice.pull('tap_bearer')).status, 'success', 'bearer auth with a secret succeeds');
SELECT results_eq('SELECT id, name FROM tap_raw.items', $$VALUES (1, 'ok')$$,
                  'overwrite replaced the old rows with the pulled ones');

-- API key in a header
SELECT sluice.create_secret('tap_key', 'k3y-value');
SELECT sluice.create_source('tap_apikey', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/apikey", "records_path": "$.data",
  "auth": {"type": "api_key", "header": "X-Api-Key", "secret": "tap_key"}}');
SELECT is((sluice.pull('tap_apikey')).rows, 1::bigint, 'api key auth loads the record');

-- A wrong secret: 401, the table untouched, the secret nowhere in the error or the run
SELECT sluice.create_secret('tap_token', 'wrong-token-value');
SELECT throws_like($$SELECT sluice.pull('tap_bearer')$$, '%answered HTTP 401%',
                   'a rejected token is an error naming the status');
SELECT results_eq('SELECT id, name FROM tap_raw.items', $$VALUES (1, 'ok')$$,
                  'a failed pull leaves the table as it was');
SELECT is((SELECT status FROM sluice.run WHERE target = 'tap_bearer' ORDER BY id DESC LIMIT 1),
          'failed', 'the failed pull is recorded as a failed run');
SELECT is((SELECT count(*) FROM sluice.run
           WHERE (error || details::text) LIKE '%wrong-token-value%'), 0::bigint,
          'the secret value appears in no run record');

-- The server echoes headers back: the body shown in an error is redacted
SELECT sluice.create_secret('tap_echo', 'echo-secret-42');
SELECT sluice.create_source('tap_echo', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/echo", "records_path": "$.nothing",
  "headers": {"X-Token": {"secret": "tap_echo"}}}');
SELECT throws_like($$SELECT sluice.pull('tap_echo')$$, '%records path%', 'absent records path');
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text;
BEGIN EXECUTE q; RETURN NULL;
EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
  RETURN m || ' / ' || coalesce(d, '');
END $$;
SELECT sluice.create_source('tap_echo', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/echo?status=400", "headers": {"X-Token": {"secret": "tap_echo"}}}');
SELECT alike(pg_temp.error_of($$SELECT sluice.pull('tap_echo')$$), '%"x-token": "[redacted]"%',
             'the server echoed the header back, and the error shows it redacted');
SELECT unalike(pg_temp.error_of($$SELECT sluice.pull('tap_echo')$$), '%echo-secret-42%',
               'the error does not carry the secret');

-- Basic auth and plain headers as the server receives them
CREATE TABLE tap_raw.seen ("authorization" text, accept text, "x-token" text);
SELECT sluice.create_secret('tap_pw', 'pa:ss');
SELECT sluice.create_source('tap_basic', target => 'tap_raw.seen', config => '{
  "url": "http://127.0.0.1:18765/test/echo", "records_path": "$.headers",
  "headers": {"Accept": "application/json", "X-Token": {"secret": "tap_echo"}},
  "auth": {"type": "basic", "username": "ann", "secret": "tap_pw"}}');
SELECT is((sluice.pull('tap_basic')).rows, 1::bigint, 'an object at the records path is one record');
SELECT results_eq($$SELECT "authorization", accept, "x-token" FROM tap_raw.seen$$,
                  $$VALUES ('Basic ' || encode('ann:pa:ss', 'base64'), 'application/json', 'echo-secret-42')$$,
                  'basic auth, a plain header and a secret header are sent');

-- Secrets are not readable, and others' secrets are not usable
CREATE ROLE tap_reader;
GRANT USAGE ON SCHEMA tap_raw TO tap_reader;
SET LOCAL ROLE tap_reader;
SELECT throws_ok('SELECT value FROM sluice.secret', '42501', NULL,
                 'a plain role cannot read sluice.secret');
SELECT is((SELECT count(*) FROM sluice.secrets), 0::bigint, 'nor list others'' secrets');
SELECT throws_ok($$SELECT sluice.pull('tap_bearer')$$, '42501', 'permission denied for source "tap_bearer"',
                 'nor pull another role''s source');
SELECT is((SELECT count(*) FROM sluice.source), 0::bigint, 'nor read their configuration');
RESET ROLE;

-- Faults: timeouts, size limit, redirects, connection refused
SELECT sluice.create_source('tap_slow', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/slow?seconds=5", "records_path": "$.data"}');
SET LOCAL sluice.http_timeout = 300;
SELECT throws_ok($$SELECT sluice.pull('tap_slow')$$, '08006', NULL, 'a stalled server times out');
RESET sluice.http_timeout;
-- A cancel cannot be caught by throws_ok (WHEN OTHERS skips query_canceled): catch it by name.
CREATE FUNCTION pg_temp.outcome(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'finished';
EXCEPTION WHEN query_canceled THEN RETURN 'cancelled';
END $$;
SET LOCAL statement_timeout = 300;
SELECT is(pg_temp.outcome($$SELECT sluice.pull('tap_slow')$$), 'cancelled',
          'statement_timeout stops a transfer in flight');
RESET statement_timeout;
SELECT is((SELECT error FROM sluice.run WHERE target = 'tap_slow' ORDER BY id DESC LIMIT 1),
          'canceling statement due to statement timeout', 'the cancelled pull is recorded');

SELECT sluice.create_source('tap_big', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/big?mb=3", "records_path": "$.data"}');
SET LOCAL sluice.http_max_response_size = 1;
SELECT throws_ok($$SELECT sluice.pull('tap_big')$$, '54000',
                 'source "tap_big": response from http://127.0.0.1:18765/test/big?mb=3 is larger than sluice.http_max_response_size (1 MB)',
                 'a body over the size limit is refused');
RESET sluice.http_max_response_size;

SELECT sluice.create_source('tap_redirect', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/redirect?to=http://127.0.0.1:18765/test/array"}');
SELECT is((sluice.pull('tap_redirect')).rows, 3::bigint, 'an http redirect is followed');
SELECT sluice.create_source('tap_redirect', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/redirect?to=file:///etc/passwd"}');
SELECT throws_ok($$SELECT sluice.pull('tap_redirect')$$, '42501',
                 'source "tap_redirect": URL scheme "file" is not allowed',
                 'a redirect to file:// is refused');
SET LOCAL sluice.http_max_redirects = 0;
SELECT sluice.create_source('tap_redirect', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/redirect?to=http://127.0.0.1:18765/test/array"}');
SELECT throws_ok($$SELECT sluice.pull('tap_redirect')$$, '54000', NULL, 'redirects are capped');
RESET sluice.http_max_redirects;

SET LOCAL sluice.allowed_hosts = 'example.com';
SELECT throws_ok($$SELECT sluice.pull('tap_redirect')$$, '42501',
                 'source "tap_redirect": host "127.0.0.1" is not in sluice.allowed_hosts',
                 'sluice.allowed_hosts limits the hosts');
RESET sluice.allowed_hosts;

-- POST with a JSON body, query parameters, and an API key in the query string
CREATE TABLE tap_raw.echo (method text, body text, lang text, page text, api_key text);
SELECT sluice.create_secret('tap_qkey', 'q s3cret&');
SELECT sluice.create_source('tap_post', target => 'tap_raw.echo', config => '{
  "url": "http://127.0.0.1:18765/test/echo?page=2", "method": "POST", "body": {"query": "x"},
  "params": {"page": "9", "lang": "fr"},
  "auth": {"type": "api_key", "param": "api_key", "secret": "tap_qkey"},
  "columns": [{"name": "method", "type": "text"}, {"name": "body", "type": "text"},
              {"name": "lang", "type": "text", "path": "$.query.lang"},
              {"name": "page", "type": "text", "path": "$.query.page"},
              {"name": "api_key", "type": "text", "path": "$.query.api_key"}]}');
SELECT is((sluice.pull('tap_post')).status, 'success', 'a POST source pulls');
SELECT results_eq($$SELECT method, body, lang, page, api_key FROM tap_raw.echo$$,
                  $$VALUES ('POST', '{"query":"x"}', 'fr', '2', 'q s3cret&')$$,
                  'the body is POSTed; params and the key are sent, a parameter in the URL wins');
SELECT is((SELECT details->>'last_url' FROM sluice.run WHERE target = 'tap_post' ORDER BY id DESC LIMIT 1),
          'http://127.0.0.1:18765/test/echo?page=2&lang=fr&api_key=[redacted]',
          'the key is redacted from the URL the run records');
SELECT sluice.create_source('tap_post', target => 'tap_raw.echo', config => '{
  "url": "http://127.0.0.1:18765/test/status/404",
  "auth": {"type": "api_key", "param": "api_key", "secret": "tap_qkey"}}');
SELECT throws_ok($$SELECT sluice.pull('tap_post')$$, '38000',
                 'source "tap_post": http://127.0.0.1:18765/test/status/404?api_key=[redacted] answered HTTP 404',
                 'and from the error');

-- Compressed responses
SELECT sluice.create_source('tap_gzip', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/gzip", "records_path": "$.data"}');
SELECT is((sluice.pull('tap_gzip')).rows, 1000::bigint,
          'gzip is asked for and a gzip response is decompressed (the server refuses plain clients)');

-- Retries: 5xx and 429 are tried again with backoff (Retry-After honoured), and recorded
SELECT sluice.create_source('tap_flaky', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/flaky?key=tap1&fail=1&status=500", "records_path": "$.data",
  "retry": {"initial_delay_ms": 50}}');
SELECT is((SELECT status || ' ' || jsonb_array_length(details->'retries') FROM sluice.pull('tap_flaky')),
          'success 1', 'a 500 then a success: the pull succeeds after one retry');
SELECT sluice.create_source('tap_flaky', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/ratelimit?key=tap2&after=1", "records_path": "$.data"}');
SELECT is((SELECT details->'retries'->0->>'wait_ms' FROM sluice.pull('tap_flaky')), '1000',
          'a 429 waits for the Retry-After the server asked for');
SELECT sluice.create_source('tap_flaky', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/flaky?key=tap3&fail=99&status=503", "records_path": "$.data",
  "retry": {"max_attempts": 3, "initial_delay_ms": 20}}');
SELECT throws_ok($$SELECT sluice.pull('tap_flaky')$$, '38000',
                 'source "tap_flaky": http://127.0.0.1:18765/test/flaky?key=tap3&fail=99&status=503 answered HTTP 503 after 3 attempts',
                 'a server that keeps failing fails the pull once the attempts are spent');
SELECT is((SELECT jsonb_array_length(details->'retries') FROM sluice.run WHERE target = 'tap_flaky' ORDER BY id DESC LIMIT 1),
          2, 'and the failed run records both retries with their reasons');
SELECT sluice.create_source('tap_flaky', target => 'tap_raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/flaky?key=tap4&fail=1&status=404", "records_path": "$.data"}');
SELECT throws_like($$SELECT sluice.pull('tap_flaky')$$, '%answered HTTP 404', 'a 404 is not retried');

-- A record that does not convert fails the whole pull: nothing is half loaded
CREATE TABLE tap_raw.strict (id int, price numeric NOT NULL);
SELECT sluice.create_source('tap_strict', target => 'tap_raw.strict', config => '{
  "url": "http://127.0.0.1:18765/test/mixed", "records_path": "$.data"}');
SELECT throws_ok($$SELECT sluice.pull('tap_strict')$$, '23502', NULL,
                 'a constraint violation fails the pull');
SELECT is((SELECT count(*) FROM tap_raw.strict), 0::bigint, 'and loads none of the records');

SELECT * FROM finish();
ROLLBACK;
