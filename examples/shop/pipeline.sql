-- The sluice demo: a small shop pulled from its HTTP API, modelled into marts, checked, traced.
-- Run by scripts/demo against the fixture server on 127.0.0.1:18765; safe to run again.
\set ON_ERROR_STOP on
\set SHOW_CONTEXT never
\pset footer off

CREATE EXTENSION IF NOT EXISTS sluice;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS marts;

\echo
\echo '== 1. Sources: three endpoints of the shop API, three pagination styles'
SELECT name, target_schema || '.' || target_name AS target FROM sluice.create_source('shop_customers',
  target => 'raw.customers',
  description => 'Customers, 50 a page, page numbers until an empty page',
  config => '{
    "url": "http://127.0.0.1:18765/shop/customers",
    "records_path": "$.data",
    "pagination": {"type": "page_number", "param": "page", "page_size_param": "per_page", "page_size": 50},
    "columns": [
      {"name": "id", "type": "bigint"},
      {"name": "name", "type": "text"},
      {"name": "email", "type": "text"},
      {"name": "country", "type": "text"},
      {"name": "signed_up_at", "type": "timestamptz"}]}');

SELECT name, target_schema || '.' || target_name AS target FROM sluice.create_source('shop_products',
  target => 'raw.products',
  description => 'The catalogue, one JSON array',
  config => '{
    "url": "http://127.0.0.1:18765/shop/products",
    "columns": [
      {"name": "sku", "type": "text"},
      {"name": "name", "type": "text"},
      {"name": "category", "type": "text"},
      {"name": "price", "type": "numeric(10,2)"},
      {"name": "active", "type": "boolean"}]}');

SELECT name, target_schema || '.' || target_name AS target FROM sluice.create_source('shop_orders',
  target => 'raw.orders',
  description => 'Orders, following the next-page URL in each body',
  config => '{
    "url": "http://127.0.0.1:18765/shop/orders",
    "records_path": "$.data",
    "pagination": {"type": "next_url", "path": "$.next"},
    "columns": [
      {"name": "id", "type": "bigint"},
      {"name": "customer_id", "type": "bigint", "path": "$.customer.id"},
      {"name": "sku", "type": "text"},
      {"name": "quantity", "type": "int"},
      {"name": "ordered_at", "type": "timestamptz"},
      {"name": "status", "type": "text"}]}');

\echo
\echo '== 2. Pull: each pull is one transaction, recorded in sluice.run'
SELECT target, status, rows, details->>'pages' AS pages, bytes FROM sluice.pull('shop_customers');
SELECT target, status, rows, details->>'pages' AS pages, bytes FROM sluice.pull('shop_products');
SELECT target, status, rows, details->>'pages' AS pages, bytes FROM sluice.pull('shop_orders');

\echo
\echo '== 3. Models: staging views, mart tables, an incremental mart and a snapshot; the order comes from the SQL itself'
SELECT name, materialized, depends_on FROM sluice.create_model('staging.orders', $$
    SELECT o.id AS order_id, o.customer_id, o.sku, o.quantity,
           o.quantity * p.price AS amount, o.ordered_at, o.status
    FROM raw.orders o
    JOIN raw.products p USING (sku)
$$, description => 'Orders priced from the catalogue');

SELECT name, materialized, depends_on FROM sluice.create_model('staging.customers', $$
    SELECT id AS customer_id, name, lower(email) AS email, country, signed_up_at
    FROM raw.customers
$$, description => 'Customers with normalised emails');

-- An aggregate mart built incrementally: later builds recompute only the days new orders fall in.
SELECT name, materialized, depends_on FROM sluice.create_model('marts.daily_revenue', $$
    SELECT date_trunc('day', o.ordered_at)::date AS day,
           count(*) AS orders,
           coalesce(sum(o.amount) FILTER (WHERE o.status <> 'refunded'), 0) AS revenue
    FROM staging.orders o
    GROUP BY 1
$$, 'incremental', '{"unique_key": "day", "input_cursor": "o.order_id",
                     "contract": [{"name": "day", "type": "date"}, {"name": "orders", "type": "bigint"},
                                  {"name": "revenue", "type": "numeric"}]}',
    description => 'Revenue per day, refunds excluded');

-- Every version of every customer's country (a slowly changing dimension, type 2).
SELECT name, materialized, depends_on FROM sluice.create_model('marts.customer_history', $$
    SELECT customer_id, name, country FROM staging.customers
$$, 'snapshot', '{"unique_key": "customer_id", "check_cols": ["country"]}',
    description => 'Customers, one row per version of their country');

SELECT name, materialized, depends_on FROM sluice.create_model('marts.revenue_by_country', $$
    SELECT c.country, count(DISTINCT o.customer_id) AS customers, sum(o.amount) AS revenue
    FROM staging.orders o
    JOIN staging.customers c USING (customer_id)
    WHERE o.status <> 'refunded'
    GROUP BY c.country
$$, materialized => 'table', description => 'Paid revenue per customer country');

CALL sluice.build();

\echo
\echo '== 4. Expectations and checks: the shop data is dirty on purpose'
SELECT name FROM sluice.expect('raw.orders', 'not_null', 'customer_id');
SELECT name FROM sluice.expect('raw.orders', 'unique', 'id');
SELECT name FROM sluice.expect('staging.customers', 'unique', 'email', severity => 'warn');
SELECT name FROM sluice.expect('marts.daily_revenue', 'not_null', 'revenue');
SELECT name FROM sluice.expect('raw.orders', 'in_set', 'status', args => '{"values": ["paid", "shipped", "refunded"]}');
SELECT name FROM sluice.expect('raw.orders', 'between', 'quantity', args => '{"min_value": 1, "max_value": 10}');
SELECT name FROM sluice.expect('raw.orders', 'relationship', 'customer_id',
                               args => '{"to": "raw.customers", "field": "id"}', severity => 'warn');

-- The five expectations on raw.orders take three queries (details->'checks'->'scans'): one scan
-- shared by the value checks, a grouping for uniqueness (raw.orders has no unique index to prove
-- it) and an anti-join for the relationship.
SELECT expectation, success, unexpected_count, unexpected_percent, partial_unexpected_list
FROM sluice.check('raw.orders');
SELECT details->'checks' AS checks FROM sluice.run WHERE kind = 'check' ORDER BY id DESC LIMIT 1;
SELECT expectation, success, unexpected_count, partial_unexpected_list
FROM sluice.check('staging.customers');
SELECT expectation, success, unexpected_count FROM sluice.check('marts.daily_revenue');

\echo
\echo '== 4b. Write, audit, publish: new rows that fail an expectation are not published'
SELECT name FROM sluice.expect('marts.revenue_by_country', 'max_between', 'revenue',
                               args => '{"max_value": 1000}', name => 'country_revenue_plausible');
\set ON_ERROR_STOP off
CALL sluice.build('marts.revenue_by_country', force => true);
\set ON_ERROR_STOP on
SELECT expectation, success, observed_value FROM sluice.check_result
WHERE run_id = (SELECT max(id) FROM sluice.run WHERE target = 'marts.revenue_by_country');
SELECT count(*) AS rejected_rows_kept_for_inspection FROM marts.revenue_by_country__rejected;
SELECT sluice.drop_expectation('country_revenue_plausible');

\echo
\echo '== 5. The marts'
SELECT * FROM marts.revenue_by_country ORDER BY revenue DESC;
SELECT * FROM marts.daily_revenue ORDER BY day LIMIT 7;

\echo
\echo '== 6. Lineage: where marts.revenue_by_country comes from'
SELECT depth, dataset, dataset_kind, feeds, via_kind, via_name
FROM sluice.upstream('marts.revenue_by_country');

\echo
\echo '== 7. Column lineage: each mart column, the columns it is computed from, and how'
SELECT f.name AS from_relation, c.from_column, c.to_column, c.transformation
FROM sluice.column_lineage c JOIN sluice.lineage_edge e ON e.id = c.edge_id
JOIN sluice.dataset f ON f.id = e.from_id
WHERE e.via_name = 'marts.revenue_by_country' ORDER BY c.to_column, f.name, c.from_column;

\echo
\echo '== 7b. Impact: what depends on raw.orders.quantity, columns and checks, before you change it'
SELECT * FROM sluice.impact('raw.orders', 'quantity');

\echo
\echo '== 7c. The catalog: every dataset with its owner, description, tags, last run, quality and neighbours'
SELECT sluice.describe('marts.revenue_by_country', 'Revenue per customer country, paid and shipped orders',
                       '{finance,daily}');
CREATE OR REPLACE VIEW marts.top_countries AS
    SELECT country, revenue FROM marts.revenue_by_country ORDER BY revenue DESC LIMIT 3;
SELECT view, inputs, column_edges FROM sluice.scan_lineage();   -- hand-written views count too
SELECT name, kind, owner, tags, row_estimate, last_run_status, quality, upstream_count AS up,
       downstream_count AS down
FROM sluice.catalog ORDER BY name;
SELECT * FROM sluice.search('revenue');

\echo
\echo '== 8. The queue: the same models run by sluice''s background workers, independent ones side by side'
SELECT run_id, kind, target, waits_for
FROM sluice.enqueue('staging.orders+,staging.customers+', force => true);
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM sluice.run WHERE status IN ('queued', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT id, target, status, worker_pid, round(extract(epoch FROM started_at - queued_at) * 1000) AS waited_ms,
       round(extract(epoch FROM finished_at - started_at) * 1000) AS took_ms, error
FROM sluice.run WHERE trigger = 'enqueue' ORDER BY id;
-- pg_cron is the clock: a schedule is a pg_cron job that queues the selector.
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT name, selector, cron FROM sluice.schedule('staging.orders+', '0 * * * *', name => 'hourly_orders');
SELECT name, selector, cron, jobid IS NOT NULL AS has_pg_cron_job, active FROM sluice.schedules;
SELECT sluice.unschedule('hourly_orders');

\echo
\echo '== 9. The run history'
SELECT id, kind, target, status, rows, error FROM sluice.run ORDER BY id DESC LIMIT 12;
