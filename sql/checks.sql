-- Expectations: kinds, arguments, results as Great Expectations names them, and bad input.
\set SHOW_CONTEXT never
CREATE TABLE customers (id int, email text, country text, score numeric, signed_up date);
INSERT INTO customers VALUES
  (1, 'a@x.io', 'FR', 10, '2026-01-01'), (2, 'b@x.io', NULL, 20, '2026-01-02'),
  (3, 'a@x.io', 'DE', 30, '2026-01-03'), (4, NULL, 'DE', 40, NULL),
  (5, 'c@x.io', 'FR', 50, '2026-01-05');
CREATE TABLE countries (code text PRIMARY KEY);
INSERT INTO countries VALUES ('FR');

SELECT * FROM sluice.check('customers');
SELECT name FROM sluice.expect('customers', 'not_null', 'email');
SELECT name FROM sluice.expect('customers', 'unique', 'email');
SELECT name FROM sluice.expect('customers', 'unique', 'id');
SELECT name FROM sluice.expect('customers', 'not_null', 'country', severity => 'warn');
SELECT name FROM sluice.expect('customers', 'in_set', 'country', args => '{"values": ["FR", "DE"]}');
SELECT name FROM sluice.expect('customers', 'between', 'score', args => '{"min_value": 0, "max_value": 40}',
                               mostly => 0.8);
SELECT name FROM sluice.expect('customers', 'match_regex', 'email', args => '{"regex": "^[a-b]@"}',
                               row_filter => 'id < 3');
SELECT name FROM sluice.expect('customers', 'relationship', 'country',
                               args => '{"to": "countries", "field": "code"}', name => 'known_country');
SELECT name FROM sluice.expect('customers', 'mean_between', 'score', args => '{"min_value": 25, "max_value": 35}');
SELECT name FROM sluice.expect('customers', 'max_between', 'signed_up', args => '{"max_value": "2026-01-04"}');
SELECT name FROM sluice.expect('customers', 'row_count_between', args => '{"min_value": 1, "max_value": 5}');
SELECT name FROM sluice.expect('customers', 'unique', args => '{"columns": ["email", "country"]}');
SELECT name FROM sluice.expect('customers', 'custom_sql',
                               args => '{"sql": "SELECT id FROM customers WHERE score > 45"}', severity => 'warn');
SELECT * FROM sluice.check('customers');

-- The run and its results are recorded, one scan shared by the counts, one query per kind that
-- needs its own plan, one per sample.
SELECT kind, target, status, rows, error, details FROM sluice.run WHERE kind = 'check';
SELECT expectation, success, unexpected_count, unexpected_percent, partial_unexpected_list
FROM sluice.check_result ORDER BY expectation;
SELECT expectation, status FROM sluice.quality ORDER BY expectation;

-- An ad-hoc check: the same row, nothing saved.
SELECT * FROM sluice.check('customers', 'not_in_set', 'country', args => '{"values": ["DE"]}');
SELECT * FROM sluice.check('customers', 'length_between', 'email', args => '{"min_value": 6, "max_value": 6}');
SELECT count(*) FROM sluice.run WHERE kind = 'check';

-- Only warnings left: the run succeeds.
DELETE FROM sluice.expectation WHERE severity = 'error';
SELECT expectation, success FROM sluice.check('customers');
SELECT status FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1;

-- Bad input: clear errors naming the expectation.
SELECT sluice.expect('customers', 'positive', 'id');
SELECT sluice.expect('customers', 'not_null');
SELECT sluice.expect('customers', 'row_count_between', 'id', args => '{"min_value": 1}');
SELECT sluice.expect('customers', 'between', 'score');
SELECT sluice.expect('customers', 'between', 'score', args => '{"min_value": "low"}');
SELECT sluice.expect('customers', 'between', 'score', args => '{"min": 1}');
SELECT sluice.expect('customers', 'between', 'score', args => '{"min_value": [1]}');
SELECT sluice.expect('customers', 'in_set', 'country', args => '{"values": []}');
SELECT sluice.expect('customers', 'match_regex', 'email', args => '{"regex": "(unclosed"}');
SELECT sluice.expect('customers', 'not_null', 'email', mostly => 1.5);
SELECT sluice.expect('customers', 'mean_between', 'score', args => '{"min_value": 1}', mostly => 0.5);
SELECT sluice.expect('customers', 'not_null', 'email', row_filter => 'id > 1; DROP TABLE customers');
SELECT sluice.expect('customers', 'not_null', 'email', row_filter => 'nope > 1');
SELECT sluice.expect('customers', 'not_null', 'nope');
SELECT sluice.expect('customers', 'mean_between', 'email', args => '{"min_value": 1}');
SELECT sluice.expect('customers', 'relationship', 'country', args => '{"to": "nowhere", "field": "code"}');
SELECT sluice.expect('customers', 'custom_sql', args => '{"sql": "DELETE FROM customers"}');
SELECT sluice.expect('customers', 'freshness', 'signed_up', args => '{"max_age": "soon"}');
SELECT sluice.expect('customers', 'unique', 'id', severity => 'fatal');
SELECT sluice.expect('customers', 'volume_anomaly', args => '{"metric": "rows"}');

-- An expectation whose column was dropped since.
ALTER TABLE customers DROP COLUMN score;
SELECT name FROM sluice.expect('customers', 'not_null', 'email', name => 'email_present');
ALTER TABLE customers DROP COLUMN email;
SELECT * FROM sluice.check('customers');
SELECT status, sqlstate FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1;

-- Leave the catalog and the database empty for the next file.
SET client_min_messages = warning;
DELETE FROM sluice.expectation;
DELETE FROM sluice.model;
DELETE FROM sluice.source;
DELETE FROM sluice.dataset;
DELETE FROM sluice.run;
DROP TABLE customers, countries;
RESET client_min_messages;
