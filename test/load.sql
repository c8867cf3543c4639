-- pgTAP: how pulled rows reach a table.  A plain table takes them through sluice's own
-- multi-insert, anything else through COPY; both give what COPY FROM would: defaults, identity,
-- constraints, index entries, triggers.
BEGIN;
SELECT plan(13);

CREATE SCHEMA tap_load;
-- Columns the records do not fill take their defaults; the primary key's index has every row.
CREATE TABLE tap_load.plain (
  serial_no bigint GENERATED ALWAYS AS IDENTITY,
  id int PRIMARY KEY,
  name text CHECK (name <> 'forbidden'),
  loaded_at timestamptz NOT NULL DEFAULT now(),
  origin text DEFAULT 'api');
SELECT sluice.create_source('plain', target => 'tap_load.plain', config => '{
  "url": "http://127.0.0.1:18765/test/array",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT is((sluice.pull('plain')).rows, 3::bigint, 'a plain table takes the rows');
SELECT results_eq('SELECT serial_no, id, name, loaded_at = now(), origin FROM tap_load.plain ORDER BY id',
                  $$VALUES (1::bigint, 1, 'a', true, 'api'), (2, 2, 'b', true, 'api'), (3, 3, 'c', true, 'api')$$,
                  'columns not in the records take their defaults, identity included');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT name FROM tap_load.plain WHERE id = 2), 'b', 'the index has an entry for each row');
SELECT is((SELECT count(*) FROM tap_load.plain WHERE id BETWEEN 1 AND 3), 3::bigint,
          'and an index scan finds them all');
RESET enable_seqscan;

-- A duplicate key or a failed CHECK fails the pull, loads nothing and names the source.
SELECT sluice.create_source('dupes', target => 'tap_load.plain', sync_mode => 'full_refresh_append',
  config => '{"url": "http://127.0.0.1:18765/test/array",
              "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT throws_like($$SELECT sluice.pull('dupes')$$,
                   'source "dupes": a record could not be loaded into tap_load.plain: duplicate key value violates unique constraint "plain_pkey"%',
                   'a duplicate key fails the pull with the source named');
SELECT is((SELECT count(*) FROM tap_load.plain), 3::bigint, 'and adds no row');
CREATE TABLE tap_load.checked (id int, name text CHECK (name <> 'b'));
SELECT sluice.create_source('checked', target => 'tap_load.checked', config => '{
  "url": "http://127.0.0.1:18765/test/array",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT throws_like($$SELECT sluice.pull('checked')$$,
                   '%violates check constraint "checked_name_check"%', 'a CHECK constraint is enforced');
SELECT is((SELECT count(*) FROM tap_load.checked), 0::bigint, 'and nothing is loaded');

-- A value its column cannot take: the error shows the column and the value.
CREATE TABLE tap_load.typed (id int, name int);
SELECT sluice.create_source('typed', target => 'tap_load.typed', config => '{
  "url": "http://127.0.0.1:18765/test/array",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT throws_ok($$SELECT sluice.pull('typed')$$, '22P02',
                 'source "typed": a record could not be loaded into tap_load.typed: invalid input syntax for type integer: "a" (column name: "a")',
                 'a bad value names its column and value');

-- A table with a trigger goes through COPY, and the trigger fires for each row.
CREATE TABLE tap_load.audited (id int, name text, seen_by_trigger boolean DEFAULT false);
CREATE FUNCTION tap_load.mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.seen_by_trigger := true; RETURN NEW; END $$;
CREATE TRIGGER mark BEFORE INSERT ON tap_load.audited FOR EACH ROW EXECUTE FUNCTION tap_load.mark();
SELECT sluice.create_source('audited', target => 'tap_load.audited', config => '{
  "url": "http://127.0.0.1:18765/test/array",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT is((sluice.pull('audited')).rows, 3::bigint, 'a table with a trigger takes the rows');
SELECT is((SELECT count(*) FROM tap_load.audited WHERE seen_by_trigger), 3::bigint,
          'and its trigger saw every one');

-- A partitioned table: rows are routed to their partitions.
CREATE TABLE tap_load.parted (id int, name text) PARTITION BY RANGE (id);
CREATE TABLE tap_load.parted_low PARTITION OF tap_load.parted FOR VALUES FROM (0) TO (2);
CREATE TABLE tap_load.parted_high PARTITION OF tap_load.parted FOR VALUES FROM (2) TO (100);
SELECT sluice.create_source('parted', target => 'tap_load.parted', config => '{
  "url": "http://127.0.0.1:18765/test/array",
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}]}');
SELECT is((sluice.pull('parted')).rows, 3::bigint, 'a partitioned table takes the rows');
SELECT results_eq('SELECT tableoid::regclass::text, count(*) FROM tap_load.parted GROUP BY 1 ORDER BY 1',
                  $$VALUES ('tap_load.parted_high', 2::bigint), ('tap_load.parted_low', 1::bigint)$$,
                  'each in its partition');

SELECT * FROM finish();
ROLLBACK;
