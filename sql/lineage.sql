-- Lineage: every pull and build records its edges; upstream and downstream walk them.
\set SHOW_CONTEXT never
CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE SCHEMA marts;
SELECT name FROM sluice.create_source('items', target => 'raw.items', config => '{
  "url": "http://127.0.0.1:18765/test/items?token=abc", "records_path": "$.data",
  "pagination": {"type": "page_number"},
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
CREATE TABLE raw.labels (id int, label text);
SELECT status FROM sluice.pull('items');
SELECT name FROM sluice.create_model('staging.items', $$
    SELECT i.id, i.name, l.label FROM raw.items i LEFT JOIN raw.labels l USING (id)
$$);
SELECT name FROM sluice.create_model('marts.item_count', $$
    SELECT label, count(*) AS n FROM staging.items GROUP BY label
$$, materialized => 'table');
CALL sluice.build();

SELECT kind, name FROM sluice.dataset ORDER BY name;
SELECT * FROM sluice.upstream('marts.item_count');
SELECT * FROM sluice.upstream('marts.item_count', 1);
SELECT * FROM sluice.downstream('raw.items');
SELECT * FROM sluice.downstream('http://127.0.0.1:18765/test/items');

-- A model that stops reading a relation loses that edge at its next build.
SELECT name FROM sluice.create_model('staging.items', $$SELECT id, name FROM raw.items$$);
CALL sluice.build('staging.items');
SELECT * FROM sluice.upstream('staging.items');
SELECT * FROM sluice.upstream('nothing.here');
SELECT * FROM sluice.downstream('http://127.0.0.1:18765/nowhere');

-- What depends on a column, and the column edges of a pull (JSON paths) and of a model.
SELECT * FROM sluice.impact('raw.items', 'name');
SELECT f.name AS from_relation, c.from_column, c.to_column, c.transformation
FROM sluice.column_lineage c JOIN sluice.lineage_edge e ON e.id = c.edge_id
JOIN sluice.dataset f ON f.id = e.from_id ORDER BY 1, 2, 3;
SELECT name, kind, built_by, last_run_status, upstream_count, downstream_count
FROM sluice.catalog ORDER BY name;

-- Leave the catalog and the database empty for the next file.
SET client_min_messages = warning;
DELETE FROM sluice.expectation;
DELETE FROM sluice.model;
DELETE FROM sluice.source;
DELETE FROM sluice.dataset;
DELETE FROM sluice.run;
DROP SCHEMA raw, staging, marts CASCADE;
RESET client_min_messages;
