-- Models built in dependency order, as views and tables; failures skip downstream only.
\set SHOW_CONTEXT never
CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE SCHEMA marts;
CREATE TABLE raw.orders (id int, customer text, amount numeric, status text);
INSERT INTO raw.orders VALUES (1, 'ann', 10, 'paid'), (2, 'bob', 20, 'paid'), (3, 'ann', 5, 'refunded');

-- An upstream model is defined before the models that read it; the build order comes from the
-- dependencies (marts.revenue sorts before staging.paid_orders by name, yet builds after it).
SELECT name FROM sluice.create_model('staging.paid_orders', $$
    SELECT id, customer, amount FROM raw.orders WHERE status = 'paid'
$$);
SELECT name FROM sluice.create_model('marts.revenue', $$
    SELECT customer, sum(amount) AS revenue FROM staging.paid_orders GROUP BY customer
$$, materialized => 'table');
CALL sluice.build();
SELECT * FROM marts.revenue ORDER BY customer;
SELECT relname, relkind FROM pg_class WHERE relname IN ('revenue', 'paid_orders') ORDER BY 1;

-- A table model is rebuilt in place: a user's view on it keeps working.
CREATE VIEW public.top_customer AS SELECT customer FROM marts.revenue ORDER BY revenue DESC LIMIT 1;
INSERT INTO raw.orders VALUES (4, 'cy', 100, 'paid');
CALL sluice.build('marts.revenue');
SELECT * FROM public.top_customer;

-- A failing model keeps its old relation and skips what reads it; the others still build.
SELECT name FROM sluice.create_model('staging.paid_orders', $$SELECT id, customer, amount, nope FROM raw.orders$$);
SELECT name FROM sluice.create_model('marts.order_count', $$SELECT count(*) AS n FROM raw.orders$$, materialized => 'table');
CALL sluice.build();
SELECT * FROM staging.paid_orders ORDER BY id;
SELECT * FROM marts.order_count;
SELECT target, status, error, sqlstate FROM sluice.run WHERE kind = 'build' AND status <> 'success' ORDER BY target;

-- Selectors: a name, +name (with upstream), name+ (with downstream), tags.
SELECT name FROM sluice.create_model('staging.paid_orders', $$SELECT id, customer, amount FROM raw.orders WHERE status = 'paid'$$, tags => '{finance}');
CALL sluice.build('marts.revenue+');
CALL sluice.build('+marts.revenue');
CALL sluice.build('tag:finance, marts.order_count');
CALL sluice.build('tag:nothing');

-- A model reading a table that was dropped since it was defined.
CREATE TABLE raw.temp_input (x int);
SELECT name FROM sluice.create_model('staging.gone', 'SELECT x FROM raw.temp_input');
DROP TABLE raw.temp_input;
CALL sluice.build('staging.gone');

-- Leave the catalog and the database empty for the next file.
SET client_min_messages = warning;
DELETE FROM sluice.expectation;
DELETE FROM sluice.model;
DELETE FROM sluice.source;
DELETE FROM sluice.dataset;
DELETE FROM sluice.run;
DROP SCHEMA raw, staging, marts CASCADE;
RESET client_min_messages;
