-- pgTAP: watching a pull from another connection, and cancelling it there.
-- A second connection (dblink) runs the pull, so the definitions are committed, then removed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE SCHEMA tap_watch;
CREATE TABLE tap_watch.items (id int);
INSERT INTO tap_watch.items VALUES (42);
SELECT 1 FROM sluice.create_source('tap_watch_slow', target => 'tap_watch.items', config => '{
  "url": "http://127.0.0.1:18765/test/slow?seconds=3", "records_path": "$.data"}');
SELECT dblink_connect('tap_watch', format('host=%s port=%s dbname=%s user=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'),
    current_database(), current_user));

SELECT plan(7);

-- While the transfer is in flight, another connection sees it.
SELECT dblink_send_query('tap_watch', $$SELECT status FROM sluice.pull('tap_watch_slow')$$);
SELECT pg_sleep(0.5);
SELECT results_eq($$SELECT source, pages, records, current_url FROM sluice.pull_progress$$,
                  $$VALUES ('tap_watch_slow', 0::bigint, 0::bigint, 'http://127.0.0.1:18765/test/slow?seconds=3')$$,
                  'sluice.pull_progress shows the pull and the URL in flight');
SELECT is((SELECT run_id FROM sluice.pull_progress) > 0, true, 'with the id its run will have');

CREATE ROLE tap_watch_stranger;
SET ROLE tap_watch_stranger;
SELECT is((SELECT count(*) FROM sluice.pull_progress), 0::bigint, 'a role outside the owner sees nothing');
RESET ROLE;
DROP ROLE tap_watch_stranger;

-- pg_cancel_backend stops the transfer; the table keeps its rows and the run says why.
SELECT ok(pg_cancel_backend((SELECT pid FROM sluice.pull_progress)), 'cancel the pulling backend');
-- dblink re-raises the remote cancel as query_canceled, which throws_ok cannot catch.
CREATE FUNCTION pg_temp.outcome(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'finished';
EXCEPTION WHEN query_canceled THEN RETURN 'cancelled';
END $$;
SELECT is(pg_temp.outcome($$SELECT * FROM dblink_get_result('tap_watch') AS r(status text)$$),
          'cancelled', 'the pull ends as cancelled');
SELECT is((SELECT status || ': ' || error FROM sluice.run WHERE target = 'tap_watch_slow' ORDER BY id DESC LIMIT 1),
          'failed: canceling statement due to user request', 'the cancelled pull is a failed run');
SELECT results_eq('SELECT id FROM tap_watch.items', 'VALUES (42)', 'and the target is as it was');

SELECT * FROM finish();

SELECT dblink_disconnect('tap_watch');
SELECT sluice.drop_source('tap_watch_slow');
DROP SCHEMA tap_watch CASCADE;
