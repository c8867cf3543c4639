-- Expectations: not_null and unique, results as Great Expectations names them.
\set SHOW_CONTEXT never
CREATE TABLE customers (id int, email text, country text);
INSERT INTO customers VALUES
  (1, 'a@x.io', 'FR'), (2, 'b@x.io', NULL), (3, 'a@x.io', 'DE'), (4, NULL, 'DE'), (5, 'c@x.io', 'FR');

SELECT * FROM sluice.check('customers');
SELECT name FROM sluice.expect('customers', 'not_null', 'email');
SELECT name FROM sluice.expect('customers', 'unique', 'email');
SELECT name FROM sluice.expect('customers', 'unique', 'id');
SELECT name FROM sluice.expect('customers', 'not_null', 'country', severity => 'warn');
SELECT * FROM sluice.check('customers');

-- The run and its results are recorded.
SELECT kind, target, status, rows, error, details FROM sluice.run WHERE kind = 'check';
SELECT expectation, success, unexpected_count, unexpected_percent, partial_unexpected_list
FROM sluice.check_result ORDER BY expectation;

-- Only warnings left: the run succeeds.
DELETE FROM customers WHERE id IN (3, 4);
SELECT expectation, success FROM sluice.check('customers');
SELECT status FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1;

-- An expectation whose column was dropped since.
ALTER TABLE customers DROP COLUMN country;
SELECT * FROM sluice.check('customers');
SELECT status, sqlstate FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1;

-- Leave the catalog and the database empty for the next file.
SET client_min_messages = warning;
DELETE FROM sluice.expectation;
DELETE FROM sluice.model;
DELETE FROM sluice.source;
DELETE FROM sluice.dataset;
DELETE FROM sluice.run;
DROP TABLE customers;
RESET client_min_messages;
