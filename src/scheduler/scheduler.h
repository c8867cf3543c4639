/*
 * scheduler.h: the run queue's background workers and the shared memory they coordinate in.
 *
 * One launcher per cluster (registered in _PG_init) starts workers per database, up to
 * sluice.max_workers in all.  A worker claims queued runs of its database one at a time, runs
 * each as its definition's owner, and lingers idle for a while before it exits.  Backends that
 * queue work wake an idle worker of their database, or the launcher, when they commit.
 */
#ifndef SLUICE_SCHEDULER_H
#define SLUICE_SCHEDULER_H

#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#define SCHEDULER_MAX_WORKERS 64
#define SCHEDULER_MAX_DATABASES 256

/* Settings (see _PG_init). */
extern int	sluice_max_workers;
extern int	sluice_worker_idle_timeout_ms;
extern int	sluice_run_retention_s;

typedef struct WorkerSlot
{
	pid_t		pid;			/* 0: free; -1: being started */
	Oid			database;
	TimestampTz started_at;
	int64		run_id;			/* the run it holds, 0 for none */
	bool		executing;		/* the run's work is under way (not yet rolled back or committed) */
	bool		idle;			/* waiting for work: set its latch to wake it */
	Oid			cancelled_by;	/* set by sluice.cancel: stop the run */
	int64		last_cancelled; /* the last run this worker settled as cancelled */
	Latch	   *latch;
} WorkerSlot;

typedef struct DatabaseWake
{
	Oid			database;		/* InvalidOid: a free entry */
	TimestampTz wake_at;		/* when a worker should look at its queue; DT_NOEND: no need */
	int			wanted;			/* how many workers would help then */
	TimestampTz released_until; /* being dropped or renamed: no worker starts there before */
} DatabaseWake;

typedef struct SchedulerState
{
	LWLock	   *lock;
	Latch	   *launcher_latch;
	WorkerSlot	workers[SCHEDULER_MAX_WORKERS];
	DatabaseWake databases[SCHEDULER_MAX_DATABASES];
} SchedulerState;

/* Asks for the shared memory (from _PG_init) and registers the launcher. */
extern void scheduler_init(void);

/* The shared state, or NULL when sluice was not preloaded. */
extern SchedulerState *scheduler_state(void);

/*
 * Asks for `wanted` workers in `database` at `at` (0: now): wakes idle workers there first and
 * the launcher for the rest.  A sooner request is never pushed back by a later one.
 */
extern void scheduler_wake(Oid database, int wanted, TimestampTz at);

/*
 * A worker with nothing to do: false when its database asked for a worker meanwhile (the request
 * is taken: look again), else marks it idle, to be woken through its latch.
 */
extern bool scheduler_go_idle(WorkerSlot *worker);

/* Wakes the workers of this database when the current transaction commits. */
extern void scheduler_wake_at_commit(void);

/* Bound to sluice's background worker entry points by name. */
extern PGDLLEXPORT void sluice_launcher_main(Datum arg);
extern PGDLLEXPORT void sluice_worker_main(Datum arg);

#endif
