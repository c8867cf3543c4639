-- pgTAP: column lineage from PostgreSQL's analysis of a model's SQL: for every output column, the
-- input columns it is computed from and whether it is a copy (identity), a transformation or an
-- aggregation, through joins, CTEs, subqueries, set operations, window functions and lateral calls;
-- and the filter and join keys that decide which rows come out.
BEGIN;
SELECT plan(11);

CREATE SCHEMA tap_col;
CREATE TABLE tap_col.orders (id int, customer_id int, amount numeric, tags text[], placed_at timestamptz);
CREATE TABLE tap_col.customers (id int, name text, country text);
CREATE TABLE tap_col.refunds (order_id int, amount numeric);

-- The column edges recorded for a model, as 'relation.column -> column (kind)'.
CREATE FUNCTION pg_temp.column_lineage(model text) RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(format('%s.%s -> %s (%s)', f.name, c.from_column, c.to_column, c.transformation)
                   ORDER BY f.name, c.from_column, c.to_column)
  FROM sluice.column_lineage c JOIN sluice.lineage_edge e ON e.id = c.edge_id
  JOIN sluice.dataset f ON f.id = e.from_id
  WHERE e.via_kind = 'model' AND e.via_name = model $$;
CREATE FUNCTION pg_temp.model(name text, sql text) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sluice.create_model(name, sql);
  CALL sluice.build(name);
  RETURN pg_temp.column_lineage(name);
END $$;

SELECT is(pg_temp.model('tap_col.joined', $$
  SELECT o.id, c.name AS customer, upper(c.country) AS country, o.amount
  FROM tap_col.orders o JOIN tap_col.customers c ON c.id = o.customer_id$$),
  '{"tap_col.customers.country -> country (transformation)","tap_col.customers.id -> * (join)","tap_col.customers.name -> customer (identity)","tap_col.orders.amount -> amount (identity)","tap_col.orders.customer_id -> * (join)","tap_col.orders.id -> id (identity)"}',
  'a join: copies and transformations, each from its own table, and the join keys for every row');

SELECT is(pg_temp.model('tap_col.by_customer', $$
  SELECT customer_id, sum(amount) AS revenue, count(*) AS orders, max(placed_at)::date AS last_order
  FROM tap_col.orders GROUP BY customer_id$$),
  '{"tap_col.orders.amount -> revenue (aggregation)","tap_col.orders.customer_id -> customer_id (identity)","tap_col.orders.placed_at -> last_order (aggregation)"}',
  'an aggregate: grouping keys are copies, aggregates are aggregations (count(*) reads no column)');

SELECT is(pg_temp.model('tap_col.through_cte', $$
  WITH big AS (SELECT id, amount * 100 AS cents FROM tap_col.orders WHERE amount > 10),
       again AS (SELECT * FROM big)
  SELECT id, cents FROM again$$),
  '{"tap_col.orders.amount -> * (filter)","tap_col.orders.amount -> cents (transformation)","tap_col.orders.id -> id (identity)"}',
  'through nested CTEs, the kind met inside counts');

SELECT is(pg_temp.model('tap_col.in_subquery', $$
  SELECT t.id, t.net FROM (SELECT o.id, o.amount - coalesce(r.amount, 0) AS net
                           FROM tap_col.orders o LEFT JOIN tap_col.refunds r ON r.order_id = o.id) AS t$$),
  '{"tap_col.orders.amount -> net (transformation)","tap_col.orders.id -> * (join)","tap_col.orders.id -> id (identity)","tap_col.refunds.amount -> net (transformation)","tap_col.refunds.order_id -> * (join)"}',
  'through a subquery in FROM, a column from two tables');

SELECT is(pg_temp.model('tap_col.unioned', $$
  SELECT id, amount FROM tap_col.orders UNION ALL SELECT order_id, -amount FROM tap_col.refunds$$),
  '{"tap_col.orders.amount -> amount (identity)","tap_col.orders.id -> id (identity)","tap_col.refunds.amount -> amount (transformation)","tap_col.refunds.order_id -> id (identity)"}',
  'a set operation: every branch');

SELECT is(pg_temp.model('tap_col.ranked', $$
  SELECT id, rank() OVER (PARTITION BY customer_id ORDER BY amount DESC) AS rank_in_customer,
         sum(amount) OVER (PARTITION BY customer_id) AS customer_total
  FROM tap_col.orders$$),
  '{"tap_col.orders.amount -> customer_total (aggregation)","tap_col.orders.amount -> rank_in_customer (aggregation)","tap_col.orders.customer_id -> customer_total (aggregation)","tap_col.orders.customer_id -> rank_in_customer (aggregation)","tap_col.orders.id -> id (identity)"}',
  'window functions are aggregations of their arguments and of their partitioning and ordering columns');

SELECT is(pg_temp.model('tap_col.tagged', $$
  SELECT o.id, t.tag FROM tap_col.orders o CROSS JOIN LATERAL unnest(o.tags) AS t(tag)$$),
  '{"tap_col.orders.id -> id (identity)","tap_col.orders.tags -> tag (transformation)"}',
  'a lateral call: its columns come from its arguments');

SELECT is(pg_temp.model('tap_col.scalar', $$
  SELECT c.id, (SELECT sum(o.amount) FROM tap_col.orders o WHERE o.customer_id = c.id) AS spent
  FROM tap_col.customers c$$),
  '{"tap_col.customers.id -> id (identity)","tap_col.orders.amount -> spent (aggregation)"}',
  'a scalar subquery in the SELECT list');

-- Redefining replaces the edges
SELECT is(pg_temp.model('tap_col.joined', $$SELECT o.id FROM tap_col.orders o$$),
  '{"tap_col.orders.id -> id (identity)"}', 'a rebuilt model''s column edges are replaced');

-- Filters and join keys decide which rows come out: they reach every column ("*").
SELECT is(pg_temp.model('tap_col.filtered', $$
  SELECT customer_id, sum(amount) AS revenue FROM tap_col.orders
  WHERE placed_at > '2026-01-01' AND customer_id IN (SELECT id FROM tap_col.customers WHERE country = 'FR')
  GROUP BY customer_id HAVING count(tags) > 1$$),
  '{"tap_col.customers.country -> * (filter)","tap_col.customers.id -> * (filter)","tap_col.orders.amount -> revenue (aggregation)","tap_col.orders.customer_id -> * (filter)","tap_col.orders.customer_id -> customer_id (identity)","tap_col.orders.placed_at -> * (filter)","tap_col.orders.tags -> * (filter)"}',
  'WHERE, HAVING and a sublink''s own WHERE are filters');
SELECT is(pg_temp.model('tap_col.left_joined', $$
  SELECT o.id FROM tap_col.orders o LEFT JOIN tap_col.refunds r ON r.order_id = o.id AND r.amount > 0
  WHERE r.order_id IS NULL$$),
  '{"tap_col.orders.id -> * (join)","tap_col.orders.id -> id (identity)","tap_col.refunds.amount -> * (join)","tap_col.refunds.order_id -> * (join)"}',
  'a column both in the join and the filter counts as a join key');

SELECT * FROM finish();
ROLLBACK;
