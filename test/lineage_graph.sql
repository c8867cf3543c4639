-- pgTAP: the lineage graph beyond models: hand-written views scanned from their stored queries,
-- datasets that follow renames and drops, passive capture of each statement kind, column impact
-- analysis, pictures, the catalog and search, and OpenLineage events.
BEGIN;
SELECT plan(43);

CREATE SCHEMA tap_lg;
CREATE TABLE tap_lg.orders (id int, customer_id int, amount numeric, placed_at date);
CREATE TABLE tap_lg.customers (id int, country text);
CREATE TABLE tap_lg.refunds (order_id int, amount numeric);
INSERT INTO tap_lg.orders VALUES (1, 1, 10, '2026-01-01'), (2, 2, 20, '2026-01-02');
INSERT INTO tap_lg.customers VALUES (1, 'FR'), (2, 'DE');

-- Column edges of everything that writes `rel`, as 'relation.column -> column (kind)'.
CREATE FUNCTION pg_temp.edges(rel text) RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(format('%s.%s -> %s (%s)', f.name, c.from_column, c.to_column, c.transformation)
                   ORDER BY f.name, c.from_column, c.to_column)
  FROM sluice.column_lineage c JOIN sluice.lineage_edge e ON e.id = c.edge_id
  JOIN sluice.dataset f ON f.id = e.from_id JOIN sluice.dataset t ON t.id = e.to_id
  WHERE t.name = rel AND t.dropped_at IS NULL $$;

-- Hand-written views, scanned from their stored query trees.
CREATE VIEW tap_lg.by_country AS
  WITH paid AS (SELECT o.customer_id, o.amount - coalesce(r.amount, 0) AS net
                FROM tap_lg.orders o LEFT JOIN tap_lg.refunds r ON r.order_id = o.id)
  SELECT c.country, sum(p.net) AS revenue, rank() OVER (ORDER BY sum(p.net) DESC) AS place
  FROM paid p JOIN tap_lg.customers c ON c.id = p.customer_id
  GROUP BY c.country;
CREATE VIEW tap_lg.everyone AS
  SELECT id, 'order' AS what FROM tap_lg.orders WHERE amount > (SELECT avg(amount) FROM tap_lg.orders)
  UNION ALL SELECT customer_id, 'refund' FROM (SELECT o.customer_id FROM tap_lg.refunds r JOIN tap_lg.orders o ON o.id = r.order_id) s;
CREATE MATERIALIZED VIEW tap_lg.top AS SELECT country FROM tap_lg.by_country WHERE place = 1;

SELECT results_eq($$SELECT view, inputs FROM sluice.scan_lineage() WHERE view LIKE 'tap_lg.%' ORDER BY view$$,
                  $$VALUES ('tap_lg.by_country', 3), ('tap_lg.everyone', 2), ('tap_lg.top', 1)$$,
                  'scan_lineage records every view and materialized view with the relations it reads');
SELECT is(pg_temp.edges('tap_lg.by_country'),
  '{"tap_lg.customers.country -> country (identity)","tap_lg.customers.id -> * (join)","tap_lg.orders.amount -> place (aggregation)","tap_lg.orders.amount -> revenue (aggregation)","tap_lg.orders.customer_id -> * (join)","tap_lg.orders.id -> * (join)","tap_lg.refunds.amount -> place (aggregation)","tap_lg.refunds.amount -> revenue (aggregation)","tap_lg.refunds.order_id -> * (join)"}',
  'through a CTE, joins, aggregates and a window function, with the join keys');
SELECT is(pg_temp.edges('tap_lg.everyone'),
  '{"tap_lg.orders.amount -> * (filter)","tap_lg.orders.customer_id -> id (identity)","tap_lg.orders.id -> * (join)","tap_lg.orders.id -> id (identity)","tap_lg.refunds.order_id -> * (join)"}',
  'through a union, a subquery in FROM and a sublink in WHERE');
SELECT is(pg_temp.edges('tap_lg.top'),
  '{"tap_lg.by_country.country -> country (identity)","tap_lg.by_country.place -> * (filter)"}',
  'a materialized view over a view');
SELECT results_eq($$SELECT depth, dataset, via_kind FROM sluice.upstream('tap_lg.top')$$,
                  $$VALUES (1, 'tap_lg.by_country', 'view'), (2, 'tap_lg.customers', 'view'),
                           (2, 'tap_lg.orders', 'view'), (2, 'tap_lg.refunds', 'view')$$,
                  'upstream walks the scanned views');
SELECT results_eq($$SELECT depth, dataset FROM sluice.downstream('tap_lg.refunds', 1)$$,
                  $$VALUES (1, 'tap_lg.by_country'), (1, 'tap_lg.everyone')$$, 'downstream to a depth');

-- Datasets are relations by OID: a rename keeps the history, a drop is marked.
ALTER VIEW tap_lg.by_country RENAME TO revenue_by_country;
ALTER TABLE tap_lg.refunds SET SCHEMA public;
SELECT results_eq($$SELECT depth, dataset FROM sluice.upstream('tap_lg.top')$$,
                  $$VALUES (1, 'tap_lg.revenue_by_country'), (2, 'public.refunds'), (2, 'tap_lg.customers'),
                           (2, 'tap_lg.orders')$$,
                  'a renamed view and a table moved to another schema keep their edges under their new names');
SELECT is((SELECT count(*) FROM sluice.dataset WHERE name IN ('tap_lg.by_country', 'tap_lg.refunds')), 0::bigint,
          'no dataset keeps the old names');
SELECT is((SELECT via_name FROM sluice.lineage_edge e JOIN sluice.dataset t ON t.id = e.to_id
           WHERE t.name = 'tap_lg.revenue_by_country' LIMIT 1), 'tap_lg.revenue_by_country',
          'a view''s own edges are named after it again');
CREATE SCHEMA tap_lg_old;
CREATE TABLE tap_lg_old.t (x int);
CREATE VIEW tap_lg_old.v AS SELECT x FROM tap_lg_old.t;
SELECT count(*) FROM sluice.scan_lineage();
ALTER SCHEMA tap_lg_old RENAME TO tap_lg_new;
SELECT results_eq($$SELECT depth, dataset, feeds, via_name FROM sluice.upstream('tap_lg_new.v')$$,
                  $$VALUES (1, 'tap_lg_new.t', 'tap_lg_new.v', 'tap_lg_new.v')$$,
                  'a renamed schema renames its datasets');
DROP MATERIALIZED VIEW tap_lg.top;
SELECT ok((SELECT dropped_at IS NOT NULL AND relid IS NULL FROM sluice.dataset WHERE name = 'tap_lg.top'),
          'a dropped relation is marked dropped, its history kept');
SELECT is((SELECT count(*) FROM sluice.downstream('tap_lg.revenue_by_country')), 0::bigint,
          'and the walks leave it out');
CREATE TABLE tap_lg.top (country text);
SELECT is(sluice._dataset_id('tap_lg.top'), NULL, 'a new relation of the same name is a new dataset');

-- Passive capture: off by default, then each statement kind, with the role, only when it commits.
INSERT INTO tap_lg.customers SELECT customer_id + 10, 'XX' FROM tap_lg.orders;
SELECT is((SELECT count(*) FROM sluice.lineage_edge WHERE via_kind = 'capture'), 0::bigint, 'capture is off by default');
SET LOCAL sluice.capture_lineage = on;
CREATE TABLE tap_lg.archive AS SELECT o.*, c.country FROM tap_lg.orders o JOIN tap_lg.customers c ON c.id = o.customer_id;
CREATE MATERIALIZED VIEW tap_lg.daily AS SELECT placed_at, count(*) AS n FROM tap_lg.archive GROUP BY 1;
SAVEPOINT before_refresh;
REFRESH MATERIALIZED VIEW tap_lg.daily;
CREATE FUNCTION pg_temp.captured() RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(format('%s -> %s: %s by %s', f.name, t.name, e.statement, e.via_name) ORDER BY f.name, t.name)
  FROM sluice.lineage_edge e JOIN sluice.dataset f ON f.id = e.from_id JOIN sluice.dataset t ON t.id = e.to_id
  WHERE e.via_kind = 'capture' $$;
SELECT is(pg_temp.captured(), ARRAY[
  format('tap_lg.archive -> tap_lg.daily: REFRESH MATERIALIZED VIEW by %s', current_user),
  format('tap_lg.customers -> tap_lg.archive: CREATE TABLE AS by %s', current_user),
  format('tap_lg.orders -> tap_lg.archive: CREATE TABLE AS by %s', current_user)],
  'CREATE TABLE AS, CREATE MATERIALIZED VIEW and REFRESH are captured, with the role');
ROLLBACK TO before_refresh;
SELECT is((SELECT statement FROM sluice.lineage_edge WHERE via_kind = 'capture' AND statement LIKE '%MATERIALIZED%'),
          'CREATE MATERIALIZED VIEW', 'a statement rolled back leaves nothing captured');
CREATE ROLE tap_lg_loader;
GRANT USAGE ON SCHEMA tap_lg TO tap_lg_loader;
GRANT SELECT ON tap_lg.orders TO tap_lg_loader;
GRANT INSERT ON tap_lg.top TO tap_lg_loader;
SET LOCAL ROLE tap_lg_loader;
INSERT INTO tap_lg.top SELECT 'FR' FROM tap_lg.orders WHERE amount > 15;
RESET ROLE;
SELECT is((SELECT format('%s: %s by %s', f.name, e.statement, e.via_name) FROM sluice.lineage_edge e
           JOIN sluice.dataset f ON f.id = e.from_id JOIN sluice.dataset t ON t.id = e.to_id
           WHERE t.name = 'tap_lg.top' AND t.dropped_at IS NULL),
          'tap_lg.orders: INSERT ... SELECT by tap_lg_loader', 'INSERT ... SELECT is captured as the role that ran it');
INSERT INTO tap_lg.top VALUES ('DE');
SELECT is((SELECT count(*) FROM sluice.lineage_edge e JOIN sluice.dataset t ON t.id = e.to_id
           WHERE t.name = 'tap_lg.top' AND t.dropped_at IS NULL), 1::bigint, 'an INSERT that reads nothing adds nothing');
DO $$ BEGIN INSERT INTO tap_lg.top SELECT country FROM tap_lg.customers; END $$;
SELECT is((SELECT count(*) FROM sluice.lineage_edge e JOIN sluice.dataset f ON f.id = e.from_id
           WHERE f.name = 'tap_lg.customers' AND e.via_kind = 'capture' AND e.statement LIKE 'INSERT%'), 0::bigint,
          'what a DO block or a procedure runs inside is not captured');
CREATE UNIQUE INDEX ON tap_lg.daily (placed_at);
REFRESH MATERIALIZED VIEW CONCURRENTLY tap_lg.daily;
SELECT is((SELECT statement FROM sluice.lineage_edge e JOIN sluice.dataset t ON t.id = e.to_id
           WHERE t.name = 'tap_lg.daily' AND e.via_kind = 'capture'),
          'REFRESH MATERIALIZED VIEW', 'REFRESH ... CONCURRENTLY is captured, not the statements it runs inside');
SET LOCAL sluice.capture_lineage = off;

-- Impact: what a column change breaks downstream, columns and checks.
SELECT sluice.create_model('tap_lg.country_revenue',
  'SELECT country, sum(revenue) AS revenue FROM tap_lg.revenue_by_country GROUP BY country', 'table');
CALL sluice.build('tap_lg.country_revenue');
SELECT sluice.expect('tap_lg.country_revenue', 'not_null', 'revenue');
SELECT sluice.expect('tap_lg.country_revenue', 'row_count_between', args => '{"min_value": 1}');
SELECT sluice.expect('tap_lg.revenue_by_country', 'unique', 'country', name => 'country_once');
SELECT results_eq($$SELECT depth, object, dataset, column_name, dependency FROM sluice.impact('tap_lg.orders', 'amount')$$,
  $$VALUES (1, 'column', 'tap_lg.archive', '*', 'table'),
           (1, 'column', 'tap_lg.everyone', '*', 'filter'),
           (1, 'column', 'tap_lg.revenue_by_country', 'place', 'aggregation'),
           (1, 'column', 'tap_lg.revenue_by_country', 'revenue', 'aggregation'),
           (1, 'column', 'tap_lg.top', '*', 'table'),
           (2, 'column', 'tap_lg.country_revenue', 'revenue', 'aggregation'),
           (2, 'column', 'tap_lg.daily', '*', 'table'),
           (2, 'expectation', 'tap_lg.country_revenue', 'revenue', 'not_null')$$,
  'impact lists each downstream column with how it depends (all of a captured target), and the checks on them');
SELECT results_eq($$SELECT object, dataset, column_name, dependency FROM sluice.impact('tap_lg.customers', 'id')
                    WHERE dataset <> 'tap_lg.archive' ORDER BY depth, object, dataset, column_name$$,
  $$VALUES ('column', 'tap_lg.revenue_by_country', '*', 'join'),
           ('expectation', 'tap_lg.revenue_by_country', 'country', 'unique'),
           ('column', 'tap_lg.country_revenue', '*', 'rows'),
           ('column', 'tap_lg.country_revenue', 'country', 'identity'),
           ('column', 'tap_lg.country_revenue', 'revenue', 'aggregation'),
           ('column', 'tap_lg.daily', '*', 'table'),
           ('expectation', 'tap_lg.country_revenue', 'revenue', 'not_null'),
           ('expectation', 'tap_lg.country_revenue', NULL, 'row_count_between')$$,
  'a join key changes which rows exist: everything made from them, and every check on it, is impacted');
SELECT is((SELECT count(*) FROM sluice.impact('public.refunds', 'no_such_column')), 0::bigint,
          'a column nothing reads impacts nothing');

-- Pictures.
SELECT matches(sluice.lineage_dot('tap_lg.revenue_by_country'),
  '^digraph lineage \{.*d[0-9]+ \[label="tap_lg.revenue_by_country\\nview", style="rounded,filled".*d[0-9]+ -> d[0-9]+ \[label="view tap_lg.revenue_by_country"\];.*\}$',
  'lineage_dot is a graphviz digraph, the relation highlighted, each edge labelled');
SELECT is((SELECT count(*) FROM regexp_matches(sluice.lineage_dot('tap_lg.revenue_by_country'), ' -> ', 'g')),
          (SELECT count(*) FROM (SELECT * FROM sluice.upstream('tap_lg.revenue_by_country')
                                 UNION ALL SELECT * FROM sluice.downstream('tap_lg.revenue_by_country')) x),
          'with every edge upstream and downstream');
SELECT matches(sluice.lineage_mermaid('tap_lg.revenue_by_country'),
  '^flowchart LR\n.*d[0-9]+\["tap_lg.orders<br/><i>table</i>"\].*d[0-9]+ -->\|"view tap_lg.revenue_by_country"\| d[0-9]+.*style d[0-9]+ fill',
  'lineage_mermaid is a Mermaid flowchart');

-- The catalog and search.
SELECT sluice.describe('tap_lg.revenue_by_country', 'Net revenue per country, refunds taken off', '{finance,daily}');
SELECT is(obj_description('tap_lg.revenue_by_country'::regclass),
          'Net revenue per country, refunds taken off #finance #daily', 'describe writes the COMMENT');
COMMENT ON TABLE tap_lg.orders IS 'Orders as the shop API sends them #raw';
SELECT results_eq($$SELECT name, kind, description, tags, upstream_count, downstream_count FROM sluice.catalog
                    WHERE name IN ('tap_lg.revenue_by_country', 'tap_lg.orders') ORDER BY name$$,
  $$VALUES ('tap_lg.orders', 'table', 'Orders as the shop API sends them', '{raw}'::text[], 0::bigint, 4::bigint),
           ('tap_lg.revenue_by_country', 'view', 'Net revenue per country, refunds taken off', '{daily,finance}', 3, 1)$$,
  'the catalog reads descriptions and tags from COMMENT ON, with upstream and downstream counts');
SELECT results_eq($$SELECT built_by, last_run_status, quality, owner FROM sluice.catalog WHERE name = 'tap_lg.country_revenue'$$,
                  $$VALUES ('tap_lg.country_revenue', 'success', 'not run', current_user::text)$$,
                  'with what builds it, its last run, its quality and its owner');
SELECT ok((SELECT row_estimate IS NOT NULL FROM sluice.catalog WHERE name = 'tap_lg.country_revenue'),
          'and a row estimate once analyzed');
SELECT results_eq($$SELECT dataset, column_name, matched FROM sluice.search('revenue') WHERE dataset LIKE 'tap_lg.%'$$,
  $$VALUES ('tap_lg.country_revenue', NULL, 'name'), ('tap_lg.country_revenue', 'revenue', 'column'),
           ('tap_lg.revenue_by_country', NULL, 'name'), ('tap_lg.revenue_by_country', 'revenue', 'column')$$,
  'search finds datasets and columns by name');
SELECT results_eq($$SELECT dataset, matched FROM sluice.search('finance')$$,
                  $$VALUES ('tap_lg.revenue_by_country', 'tag')$$, 'by tag');
SELECT results_eq($$SELECT dataset, matched FROM sluice.search('refunds taken')$$,
                  $$VALUES ('tap_lg.revenue_by_country', 'description')$$, 'and by description');

-- A pull's edge runs from its URL, and each configured JSON path is a column edge.
\ir fixtures/events_source.sql
SELECT pg_temp.events_source('tap_lg', 'events', 'incremental_append', 'count=3');
SELECT is((sluice.pull('events')).status, 'success', 'the source pulls');
SELECT is(pg_temp.edges('tap_lg.events'),
  '{"http://127.0.0.1:18765/test/events.$.id -> id (identity)","http://127.0.0.1:18765/test/events.$.name -> name (identity)","http://127.0.0.1:18765/test/events.$.updated_at -> updated_at (identity)"}',
  'a pull''s columns come from the JSON paths of its URL''s records');

-- OpenLineage: a build's START and COMPLETE events.
CREATE TEMP TABLE ev AS
  SELECT e FROM sluice.openlineage_events((SELECT max(id) FROM sluice.run WHERE target = 'tap_lg.country_revenue')) e;
SELECT results_eq($$SELECT e->>'eventType' FROM ev$$, $$VALUES ('START'), ('COMPLETE')$$, 'a run is a START and a COMPLETE event');
SELECT ok((SELECT bool_and(e ?& ARRAY['eventType', 'eventTime', 'producer', 'schemaURL', 'run', 'job', 'inputs', 'outputs']
                   AND (e->'run'->>'runId')::uuid IS NOT NULL AND (e->>'eventTime')::timestamptz IS NOT NULL
                   AND e->'job' ?& ARRAY['namespace', 'name']) FROM ev),
          'each has the fields a RunEvent requires, a UUID run id and an ISO 8601 time');
SELECT is((SELECT count(DISTINCT e->'run'->>'runId') FROM ev), 1::bigint, 'both name the same run');
SELECT is((SELECT e->'outputs'->0->>'name' FROM ev LIMIT 1), current_database() || '.tap_lg.country_revenue',
          'the output is named database.schema.table');
SELECT is((SELECT e->'outputs'->0->'facets'->'columnLineage'->'fields'->'revenue'->'inputFields'->0 FROM ev LIMIT 1),
          jsonb_build_object('namespace', sluice._ol_namespace(), 'name', current_database() || '.tap_lg.revenue_by_country',
                             'field', 'revenue', 'transformations',
                             '[{"type": "DIRECT", "subtype": "AGGREGATION"}]'::jsonb),
          'with the column lineage facet');
SELECT is((SELECT jsonb_path_query_array(e, '$.outputs[0].facets.schema.fields[*].name') FROM ev LIMIT 1),
          '["country", "revenue"]', 'and the schema facet');
SELECT ok((SELECT bool_and(f ? '_producer' AND f ? '_schemaURL')
           FROM ev, jsonb_path_query(e, '$.outputs[*].facets.* ? (@.type() == "object")') f),
          'every facet names its producer and schema');
SELECT throws_ok('SELECT sluice.openlineage_events(-1)', '42704', 'run -1 does not exist', 'an unknown run is an error');

SELECT * FROM finish();
ROLLBACK;
