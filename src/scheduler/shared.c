/*
 * shared.c: the scheduler's shared memory: worker slots, per-database wake-up requests, and the
 * wake-ups backends send when they commit new queued runs.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "nodes/parsenodes.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "scheduler/scheduler.h"
#include "util/bgworker.h"

PG_FUNCTION_INFO_V1(sluice_wake_workers);
PG_FUNCTION_INFO_V1(sluice_queued);
PG_FUNCTION_INFO_V1(sluice_workers);

int			sluice_max_workers = 2;
int			sluice_worker_idle_timeout_ms = 10000;
int			sluice_run_retention_s = 30 * 24 * 3600;

static SchedulerState *state = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_utility_hook = NULL;
static bool wake_pending = false;

/* How long a database being dropped or renamed gets no new workers. */
#define RELEASE_MS 10000

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(SchedulerState));
	RequestNamedLWLockTranche("sluice scheduler", 1);
}

static void
attach_shmem(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	state = ShmemInitStruct("sluice scheduler", sizeof(SchedulerState), &found);
	if (!found)
	{
		memset(state, 0, sizeof(SchedulerState));
		state->lock = &(GetNamedLWLockTranche("sluice scheduler"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * DROP DATABASE and ALTER DATABASE ... RENAME wait for other sessions to leave: sluice's workers
 * there are asked to, and no new one starts for a while.
 */
static void
release_database(Oid database)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), RELEASE_MS);

	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SCHEDULER_MAX_DATABASES; i++)
		if (state->databases[i].database == database)
			state->databases[i].released_until = until;
	for (int i = 0; i < SCHEDULER_MAX_WORKERS; i++)
		if (state->workers[i].pid > 0 && state->workers[i].database == database)
			kill(state->workers[i].pid, SIGTERM);
	LWLockRelease(state->lock);
}

static void
utility_hook(PlannedStmt *pstmt, const char *query, bool read_only_tree,
			 ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *env,
			 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	const char *leaving = NULL;

	if (IsA(stmt, DropdbStmt))
		leaving = ((DropdbStmt *) stmt)->dbname;
	else if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		leaving = ((RenameStmt *) stmt)->subname;
	/* Only for a command that can succeed: its owner, outside a transaction block. */
	if (leaving && state && !IsTransactionBlock() && OidIsValid(get_database_oid(leaving, true)) &&
		pg_database_ownercheck(get_database_oid(leaving, true), GetUserId()))
		release_database(get_database_oid(leaving, true));

	if (prev_utility_hook)
		prev_utility_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
	else
		standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
}

void
scheduler_init(void)
{
	BackgroundWorker launcher;

	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = utility_hook;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = attach_shmem;

	sluice_bgworker(&launcher, "sluice launcher", "sluice launcher", "sluice_launcher_main");
	launcher.bgw_restart_time = 5;	/* seconds; it has no work of its own to lose */
	RegisterBackgroundWorker(&launcher);
}

SchedulerState *
scheduler_state(void)
{
	return state;
}

/* The database's entry, made if missing; caller holds the lock exclusively. */
static DatabaseWake *
database_entry(Oid database)
{
	DatabaseWake *free_entry = NULL;

	for (int i = 0; i < SCHEDULER_MAX_DATABASES; i++)
	{
		DatabaseWake *d = &state->databases[i];

		if (d->database == database)
			return d;
		/* An entry that asks for nothing (a database dropped, or without work) can be reused. */
		if (free_entry == NULL && (d->database == InvalidOid ||
								   (d->wanted <= 0 && d->wake_at == DT_NOEND &&
									d->released_until <= GetCurrentTimestamp())))
			free_entry = d;
	}
	if (free_entry == NULL)
	{
		ereport(LOG,
				(errmsg("sluice: more than %d databases ask for workers at once; database %u waits",
						SCHEDULER_MAX_DATABASES, database)));
		return NULL;
	}
	free_entry->database = database;
	free_entry->wake_at = DT_NOEND;
	free_entry->wanted = 0;
	free_entry->released_until = 0;
	return free_entry;
}

void
scheduler_wake(Oid database, int wanted, TimestampTz at)
{
	DatabaseWake *d;
	Latch	   *launcher = NULL;

	if (state == NULL || wanted <= 0)
		return;
	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	if (at <= GetCurrentTimestamp())
	{
		for (int i = 0; i < SCHEDULER_MAX_WORKERS && wanted > 0; i++)
		{
			WorkerSlot *w = &state->workers[i];

			if (w->pid > 0 && w->database == database && w->idle)
			{
				w->idle = false;
				SetLatch(w->latch);
				wanted--;
			}
		}
	}
	d = database_entry(database);
	if (wanted > 0 && d != NULL)
	{
		if (at < d->wake_at)
			d->wake_at = at;
		d->wanted = Max(d->wanted, wanted);
		launcher = state->launcher_latch;
	}
	LWLockRelease(state->lock);
	if (launcher)
		SetLatch(launcher);
}

bool
scheduler_go_idle(WorkerSlot *worker)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		idle = true;

	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SCHEDULER_MAX_DATABASES && idle; i++)
	{
		DatabaseWake *d = &state->databases[i];

		if (d->database == worker->database && d->wanted > 0 && d->wake_at <= now)
		{
			idle = false;
			if (--d->wanted <= 0)
				d->wake_at = DT_NOEND;
		}
	}
	worker->idle = idle;
	LWLockRelease(state->lock);
	return idle;
}

static void
wake_at_commit_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_pending)
		scheduler_wake(MyDatabaseId, 1, 0);
	/* (A prepared transaction's runs wait for the next wake-up: its commit comes from elsewhere.) */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_pending = false;
}

void
scheduler_wake_at_commit(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(wake_at_commit_callback, NULL);
		registered = true;
	}
	wake_pending = true;
}

Datum
sluice_wake_workers(PG_FUNCTION_ARGS)
{
	scheduler_wake_at_commit();
	PG_RETURN_VOID();
}

/* Trigger on sluice.run: a row became queued. */
Datum
sluice_queued(PG_FUNCTION_ARGS)
{
	scheduler_wake_at_commit();
	return PointerGetDatum(NULL);
}

Datum
sluice_workers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WorkerSlot	copy[SCHEDULER_MAX_WORKERS];

	InitMaterializedSRF(fcinfo, 0);
	if (state == NULL)
		return (Datum) 0;
	LWLockAcquire(state->lock, LW_SHARED);
	memcpy(copy, state->workers, sizeof(copy));
	LWLockRelease(state->lock);

	for (int i = 0; i < SCHEDULER_MAX_WORKERS; i++)
	{
		WorkerSlot *w = &copy[i];
		Datum		values[5];
		bool		nulls[5] = {false};
		char	   *database;

		if (w->pid == 0)
			continue;
		database = get_database_name(w->database);
		values[0] = Int32GetDatum(w->pid > 0 ? w->pid : 0);
		nulls[0] = w->pid < 0;
		values[1] = CStringGetDatum(database ? database : "?");
		values[1] = DirectFunctionCall1(namein, values[1]);
		values[2] = Int64GetDatum(w->run_id);
		nulls[2] = w->run_id == 0;
		values[3] = CStringGetTextDatum(w->pid < 0 ? "starting" : w->run_id != 0 ? "running" :
										w->idle ? "idle" : "looking for work");
		values[4] = TimestampTzGetDatum(w->started_at);
		nulls[4] = w->started_at == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
