-- pgTAP: the run queue's SQL surface: what sluice.enqueue queues and in what order, who may queue
-- and cancel, policies, data-aware triggers, freshness, schedules without pg_cron here.  (Workers
-- run only what commits; the session tests watch them run.)
BEGIN;
SELECT plan(44);

\ir fixtures/events_source.sql
CREATE SCHEMA tap_raw;
CREATE SCHEMA tap_mart;
SELECT pg_temp.events_source('tap_raw', 'events', 'incremental_append', 'count=8');
CREATE TABLE tap_raw.events (id int, name text, updated_at timestamptz);
SELECT sluice.create_model('tap_mart.named', 'SELECT id, name FROM tap_raw.events', 'table');
SELECT sluice.create_model('tap_mart.counted', 'SELECT count(*) AS n FROM tap_mart.named', 'table',
                           tags => '{daily}');
SELECT sluice.create_model('tap_mart.alone', 'SELECT 1 AS one', 'view', tags => '{daily}');
CREATE TABLE tap_raw.lookup (code text);
SELECT sluice.expect('tap_raw.lookup', 'not_null', 'code');

-- Order and dependencies.
CREATE TEMP TABLE q AS SELECT * FROM sluice.enqueue('+tap_mart.counted');
SELECT results_eq('SELECT kind, target FROM q',
                  $$VALUES ('pull', 'events'), ('build', 'tap_mart.named'), ('build', 'tap_mart.counted')$$,
                  '+model queues its upstream pulls and builds first');
SELECT is((SELECT waits_for FROM q WHERE target = 'tap_mart.named'),
          ARRAY[(SELECT run_id FROM q WHERE target = 'events')], 'a build waits for the pull it reads');
SELECT is((SELECT waits_for FROM q WHERE target = 'tap_mart.counted'),
          ARRAY[(SELECT run_id FROM q WHERE target = 'tap_mart.named')], 'and the next build for that one');
SELECT is((SELECT count(*) FROM sluice.run r JOIN q ON q.run_id = r.id
           WHERE r.status = 'queued' AND r.trigger = 'enqueue' AND r.queued_at IS NOT NULL), 3::bigint,
          'the runs are queued at once');
SELECT is((SELECT owner::text FROM sluice.run WHERE id = (SELECT run_id FROM q WHERE target = 'events')),
          current_user::text, 'each run belongs to its definition''s owner');

SELECT results_eq($$SELECT run_id FROM sluice.enqueue('tap_mart.counted+')$$,
                  $$SELECT run_id FROM q WHERE target = 'tap_mart.counted'$$,
                  'a target already queued is not queued twice');
SELECT is((SELECT count(*) FROM sluice.run WHERE status = 'queued'), 3::bigint, 'nothing new was queued');
SELECT run_id AS named_run FROM sluice.enqueue('tap_mart.named', force => true) \gset
SELECT is((SELECT force FROM sluice.run WHERE id = :named_run), true,
          'queueing again with force forces the queued run');

SELECT results_eq($$SELECT target FROM sluice.enqueue('tag:daily')$$,
                  $$VALUES ('tap_mart.alone'), ('tap_mart.counted')$$, 'tags select models');
SELECT results_eq($$SELECT kind, target FROM sluice.enqueue('check:tap_raw.lookup')$$,
                  $$VALUES ('check', 'tap_raw.lookup')$$,
                  'a relation with expectations that sluice does not load or build is checked');
SELECT ok((SELECT count(*) FROM sluice.enqueue('*')) = 5, '* queues every pull, build and check');

-- Selectors that name nothing, or two things.
SELECT throws_ok($$SELECT * FROM sluice.enqueue('nothing_here')$$, '42704',
                 'nothing to run is named "nothing_here"', 'an unknown name is an error');
SELECT sluice.create_model('events', 'SELECT 1 AS one', 'view');
SELECT throws_ok($$SELECT * FROM sluice.enqueue('events')$$, '42P08',
                 '"events" names both a model and a source', 'a name both a model and a source is ambiguous');
SELECT is((SELECT kind FROM sluice.enqueue('source:events')), 'pull', 'source: picks the source');
SELECT throws_ok($$SELECT * FROM sluice.enqueue('tag:none')$$, '42704', 'no model or source has tag "none"',
                 'a tag no one has is an error');
SELECT throws_ok($$SELECT * FROM sluice.enqueue('*', trigger => 'cron')$$, '22023', 'unknown trigger "cron"',
                 'only the known triggers are accepted');

SELECT run_id AS pull_run FROM q WHERE target = 'events' \gset

-- Who may queue: members of each definition's owner; checks need SELECT on the relation.
CREATE ROLE tap_stranger;
GRANT USAGE ON SCHEMA tap_raw, tap_mart TO tap_stranger;
SET LOCAL ROLE tap_stranger;
SELECT throws_ok($$SELECT * FROM sluice.enqueue('tap_mart.alone')$$, '42501',
                 'permission denied for model "tap_mart.alone"', 'a stranger cannot queue someone else''s model');
SELECT throws_ok($$SELECT * FROM sluice.enqueue('check:tap_raw.lookup')$$, '42501',
                 'permission denied to check tap_raw.lookup', 'nor check a relation it cannot read');
SELECT throws_ok($$SELECT sluice._claim(1)$$, '42501', NULL, 'nor claim runs as a worker does');
SELECT throws_ok($$SELECT sluice._settle(1, NULL, NULL, NULL, false)$$, '42501', NULL, 'nor settle them');
SELECT throws_ok($$INSERT INTO sluice.run (kind, target, status) VALUES ('build', 'x', 'queued')$$, '42501', NULL,
                 'nor write the queue directly');

-- Cancelling: members of the run's owner only; a cancelled run skips what waits on it.
SELECT throws_ok(format('SELECT sluice.cancel(%s)', :pull_run), '42501',
                 format('permission denied to cancel run %s', :pull_run),
                 'a stranger cannot cancel the run');
RESET ROLE;
SELECT is(sluice.cancel(:pull_run), 'cancelled', 'its owner can');
SELECT results_eq($$SELECT r.target, r.status, r.error FROM sluice.run r JOIN q ON q.run_id = r.id ORDER BY r.id$$,
                  format($$VALUES ('events', 'cancelled', 'cancelled by %s'),
                                  ('tap_mart.named', 'skipped', 'upstream run %s (pull events) was cancelled'),
                                  ('tap_mart.counted', 'skipped', 'upstream run %s (pull events) was cancelled')$$,
                         current_user, :pull_run, :pull_run),
                  'what waits on a cancelled run is skipped, saying why');
SELECT throws_ok(format('SELECT sluice.cancel(%s)', :pull_run), '55000',
                 format('run %s has already finished (cancelled)', :pull_run),
                 'a finished run cannot be cancelled');
SELECT throws_ok('SELECT sluice.cancel(-1)', '42704', 'run -1 does not exist', 'nor one that does not exist');

-- A failed run is retried while its policy allows, with a growing backoff.
SELECT is((SELECT retries FROM sluice.set_policy('tap_mart.alone', retries => 2, retry_backoff => '10 seconds')),
          2, 'set_policy sets retries');
CREATE TEMP TABLE first_try AS SELECT run_id FROM sluice.enqueue('tap_mart.alone');
UPDATE sluice.run SET status = 'running', started_at = now() WHERE id = (SELECT run_id FROM first_try);
SELECT sluice._settle((SELECT run_id FROM first_try), 'it broke', 'XX000', NULL, false);
SELECT results_eq($$SELECT status, attempt, trigger, run_after - queued_at FROM sluice.run
                    WHERE target = 'tap_mart.alone' ORDER BY id$$,
                  $$VALUES ('failed', 1, 'enqueue', NULL::interval), ('queued', 2, 'retry', interval '10 seconds')$$,
                  'a failure with retries left queues the next attempt after the backoff');
UPDATE sluice.run SET status = 'running', started_at = now() WHERE target = 'tap_mart.alone' AND status = 'queued';
SELECT sluice._settle((SELECT max(id) FROM sluice.run WHERE target = 'tap_mart.alone'), 'again', 'XX000', NULL, false);
SELECT is((SELECT run_after - queued_at FROM sluice.run WHERE target = 'tap_mart.alone' AND status = 'queued'),
          interval '20 seconds', 'the backoff doubles');

SELECT throws_ok($$SELECT * FROM sluice.set_policy('tap_mart.alone', retries => -1)$$, '22023',
                 'model "tap_mart.alone": retries must be 0 or more, not -1', 'negative retries are refused');
SELECT throws_ok($$SELECT * FROM sluice.set_policy('source:events', on_upstream_data => true)$$, '22023',
                 'source "events" has no upstream: only models run on upstream data', 'sources have no upstream');
SELECT is((SELECT timeout FROM sluice.set_policy('tap_mart.alone', timeout => '5 minutes')), interval '5 minutes',
          'set_policy sets a timeout');
SELECT is((SELECT timeout FROM sluice.set_policy('tap_mart.alone', timeout => '0')), NULL::interval,
          'and zero removes it');
SET LOCAL ROLE tap_stranger;
SELECT throws_ok($$SELECT * FROM sluice.set_policy('tap_mart.alone', retries => 0)$$, '42501', NULL,
                 'a stranger cannot change the policy');
RESET ROLE;

-- Data-aware triggers: a model that asked to run on upstream data is queued when its input
-- publishes, and a burst is one queued run.
SELECT sluice.create_model('tap_mart.follower', 'SELECT n FROM tap_mart.counted', 'table');
SELECT * FROM sluice.set_policy('tap_mart.follower', on_upstream_data => true);
DELETE FROM sluice.run WHERE status = 'queued';
CALL sluice.build('tap_mart.named');
SELECT is((SELECT count(*) FROM sluice.run WHERE target = 'tap_mart.follower'), 0::bigint,
          'only what reads the published relation directly is queued');
CALL sluice.build('tap_mart.counted');
CALL sluice.build('tap_mart.counted', force => true);
SELECT results_eq($$SELECT status, trigger FROM sluice.run WHERE target = 'tap_mart.follower'$$,
                  $$VALUES ('queued', 'upstream')$$, 'two publishes upstream queue one run');

-- Freshness objectives.
SELECT * FROM sluice.set_policy('tap_mart.counted', max_staleness => '1 hour');
SELECT * FROM sluice.set_policy('tap_mart.alone', max_staleness => '1 hour');
UPDATE sluice.model SET created_at = now() - interval '2 hours' WHERE name = 'tap_mart.alone';
SELECT results_eq($$SELECT name, status, due_by FROM sluice.freshness ORDER BY name$$,
                  $$VALUES ('tap_mart.alone', 'late', now() - interval '1 hour'),
                           ('tap_mart.counted', 'fresh', (SELECT max(finished_at) + interval '1 hour' FROM sluice.run
                                                          WHERE target = 'tap_mart.counted'))$$,
                  'freshness shows which definitions are late (one never built in time)');
SELECT is((SELECT last_success FROM sluice.freshness WHERE name = 'tap_mart.counted'),
          (SELECT max(finished_at) FROM sluice.run WHERE target = 'tap_mart.counted' AND status = 'success'),
          'from their last successful run');

-- Schedules need pg_cron in this database; here it runs from another one.
SELECT throws_ok($$SELECT sluice.schedule('tap_mart.counted', '*/5 * * * *')$$, '0A000',
                 format('pg_cron runs its jobs from database "%s", not "%s"',
                        current_setting('cron.database_name'), current_database()),
                 'scheduling says where pg_cron runs');
SELECT throws_ok($$SELECT sluice.unschedule('none')$$, '42704', 'schedule "none" does not exist',
                 'an unknown schedule cannot be removed');

-- Run history is capped, but each target's last success stays (builds and freshness need it).
UPDATE sluice.run SET finished_at = now() - interval '60 days' WHERE status <> 'queued';
SELECT ok(sluice._prune_runs('30 days') > 0, 'old runs are pruned');
SELECT is((SELECT count(*) FROM sluice.run r WHERE r.status = 'success'
           AND r.id <> (SELECT max(l.id) FROM sluice.run l WHERE l.status = 'success'
                        AND l.kind = r.kind AND l.target = r.target)), 0::bigint,
          'all but the last success of each target');
SELECT is((SELECT count(*) FROM sluice.run WHERE status = 'success'),
          (SELECT count(DISTINCT (kind, target)) FROM sluice.run WHERE status = 'success'),
          'which stays');
SELECT ok(EXISTS (SELECT FROM sluice.run WHERE status = 'queued'), 'and queued runs stay');

SELECT * FROM finish();
ROLLBACK;
