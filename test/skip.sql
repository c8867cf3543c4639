-- pgTAP: a model whose inputs have not changed since its last successful build is skipped, and
-- says so; new data, a rebuilt upstream, a new definition or force => true build it again.
BEGIN;
SELECT plan(10);

CREATE SCHEMA tap_skip;
SELECT count(*) FROM sluice.create_source('tap_events', target => 'tap_skip.events',
  sync_mode => 'incremental_append', cursor_field => 'updated_at',
  config => '{"url": "http://127.0.0.1:18765/test/events?count=5&per_page=5", "records_path": "$.data",
              "cursor_param": "since",
              "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"},
                          {"name": "updated_at", "type": "timestamptz"}]}');
SELECT is((sluice.pull('tap_events')).rows, 5::bigint, 'the first pull loads the records');
SELECT count(*) FROM sluice.create_model('tap_skip.counts', 'SELECT count(*) AS n FROM tap_skip.events',
                                         materialized => 'table');
SELECT count(*) FROM sluice.create_model('tap_skip.doubled', 'SELECT n * 2 AS n2 FROM tap_skip.counts',
                                         materialized => 'table');
CALL sluice.build('tap_skip.counts+');
CREATE FUNCTION pg_temp.last_status(model text) RETURNS text LANGUAGE sql AS $$
  SELECT status || coalesce(': ' || (details->>'reason'), '') FROM sluice.run
  WHERE kind = 'build' AND target = model ORDER BY id DESC LIMIT 1 $$;
SELECT is(pg_temp.last_status('tap_skip.counts'), 'success', 'both models build the first time');

-- Nothing new: a pull that loads nothing, then a build
SELECT is((sluice.pull('tap_events')).rows, 0::bigint, 'a second pull finds nothing new');
CALL sluice.build('tap_skip.counts+');
SELECT is(pg_temp.last_status('tap_skip.counts'), 'skipped: its inputs have not changed since its last build',
          'a model over unchanged data is skipped, with the reason in its run');
SELECT is(pg_temp.last_status('tap_skip.doubled'), 'skipped: its inputs have not changed since its last build',
          'and so is the model over it');

-- force => true builds anyway; then the model downstream has a rebuilt input
CALL sluice.build('tap_skip.counts', force => true);
SELECT is(pg_temp.last_status('tap_skip.counts'), 'success', 'force => true builds it anyway');
CALL sluice.build('tap_skip.doubled');
SELECT is(pg_temp.last_status('tap_skip.doubled'), 'success', 'a rebuilt upstream model builds what reads it');

-- A new definition builds
SELECT count(*) FROM sluice.create_model('tap_skip.doubled', 'SELECT n * 3 AS n2 FROM tap_skip.counts',
                                         materialized => 'table');
CALL sluice.build('tap_skip.doubled');
SELECT is((SELECT n2 FROM tap_skip.doubled), 15::bigint, 'a changed definition builds');

-- A table sluice does not load may have changed at any time: models over it always build.
CREATE TABLE tap_skip.manual (x int);
SELECT count(*) FROM sluice.create_model('tap_skip.manual_count', 'SELECT count(*) AS n FROM tap_skip.manual',
                                         materialized => 'table');
CALL sluice.build('tap_skip.manual_count');
INSERT INTO tap_skip.manual VALUES (1);
CALL sluice.build('tap_skip.manual_count');
SELECT is((SELECT n FROM tap_skip.manual_count), 1::bigint, 'a model over a table sluice does not load always builds');

-- A dropped relation is built again
DROP TABLE tap_skip.doubled;
CALL sluice.build('tap_skip.doubled');
SELECT is((SELECT n2 FROM tap_skip.doubled), 15::bigint, 'a model whose relation was dropped builds');

SELECT * FROM finish();
ROLLBACK;
