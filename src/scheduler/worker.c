/*
 * worker.c: a sluice worker, bound to one database.  It settles runs left running by workers
 * that died, then claims queued runs one at a time and runs each as its definition's owner, in a
 * transaction of its own, so a failure, a timeout, a cancel or a crash leaves nothing
 * half-written.  It watches freshness objectives on the way, and exits after
 * sluice.worker_idle_timeout without work, telling the launcher when it is next needed.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "lineage/lineage.h"
#include "scheduler/scheduler.h"
#include "util/role.h"

/* Freshness objectives are looked at no more often than this. */
#define FRESHNESS_SWEEP_MS 1000

/* How soon a worker replaces one that failed holding a run. */
#define RESTART_DELAY_MS 5000

typedef struct ClaimedRun
{
	int64		id;
	char		kind[16];
	char	   *target;
	Oid			owner;
	bool		force;
	int64		timeout_ms;		/* 0: none */
} ClaimedRun;

static SchedulerState *shared;
static WorkerSlot *me;
static MemoryContext worker_context;

/*
 * Frees the slot.  A run still held is settled as interrupted by the next worker there: at once
 * when this one exited normally, a few seconds later when it failed or was terminated (so a
 * failure that recurs does not start worker after worker).
 */
static void
leave_slot(int code, Datum arg)
{
	Oid			database = me->database;
	bool		held_run;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	held_run = me->run_id != 0;
	memset(me, 0, sizeof(WorkerSlot));
	LWLockRelease(shared->lock);
	if (held_run)
		scheduler_wake(database, 1,
					   code == 0 ? 0 : TimestampTzPlusMilliseconds(GetCurrentTimestamp(), RESTART_DELAY_MS));
	if (shared->launcher_latch)
		SetLatch(shared->launcher_latch);
}

static void
begin_transaction(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
commit_transaction(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* (not TopMemoryContext, where the commit leaves us: what follows is freed per run) */
	MemoryContextSwitchTo(worker_context);
	pgstat_report_stat(false);
}

static bool
sluice_installed(void)
{
	bool		installed;

	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("sluice", true));
	CommitTransactionCommand();
	return installed;
}

/* Runs left running by workers that are gone: failed as interrupted, retried if allowed. */
static void
settle_interrupted(void)
{
	StringInfoData ids;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	begin_transaction();
	/* Rows a claim holds locked are skipped: their worker is alive and about to record itself. */
	catalog_exec("SELECT id FROM sluice.run WHERE status = 'running' AND worker_pid IS NOT NULL"
				 " FOR UPDATE SKIP LOCKED", 0, NULL, NULL, NULL, false);
	initStringInfo(&ids);
	LWLockAcquire(shared->lock, LW_SHARED);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1,
													 &(bool){false}));
		bool		held = false;

		for (int w = 0; w < SCHEDULER_MAX_WORKERS && !held; w++)
			held = shared->workers[w].pid > 0 && shared->workers[w].database == MyDatabaseId &&
				shared->workers[w].run_id == id;
		if (!held)
			appendStringInfo(&ids, "%s" INT64_FORMAT, ids.len ? "," : "", id);
	}
	LWLockRelease(shared->lock);
	if (ids.len > 0)
	{
		values[0] = CStringGetTextDatum(psprintf("{%s}", ids.data));
		catalog_exec("SELECT sluice._interrupted($1::bigint[])", 1, argtypes, values, NULL, false);
		ereport(LOG, (errmsg("sluice worker: runs %s were interrupted and are settled", ids.data)));
	}
	commit_transaction();
}

/* Claims the next ready run, if any; asks for more workers when others are ready too. */
static bool
claim(ClaimedRun *run)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(MyProcPid)};
	bool		claimed = false;

	begin_transaction();
	catalog_exec("SELECT * FROM sluice._claim($1)", 1, argtypes, values, NULL, false);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		owner;
		int64		others;
		MemoryContext old = MemoryContextSwitchTo(worker_context);

		run->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		strlcpy(run->kind, SPI_getvalue(tup, desc, 2), sizeof(run->kind));
		run->target = SPI_getvalue(tup, desc, 3);
		owner = SPI_getbinval(tup, desc, 4, &isnull);
		run->owner = isnull ? InvalidOid : DatumGetObjectId(owner);
		run->force = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		run->timeout_ms = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		if (isnull)
			run->timeout_ms = 0;
		others = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		MemoryContextSwitchTo(old);

		/* Held before the claim commits, so no one takes it for an orphan. */
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		me->run_id = run->id;
		me->cancelled_by = InvalidOid;
		LWLockRelease(shared->lock);
		claimed = true;
		if (others > 0)
			scheduler_wake(MyDatabaseId, (int) Min(others, SCHEDULER_MAX_WORKERS), 0);
	}
	commit_transaction();
	return claimed;
}

/* The statement that does the run's work, called as the owner. */
static void
execute_as_owner(ClaimedRun *run)
{
	Oid			argtypes[2] = {TEXTOID, BOOLOID};
	Datum		values[2] = {CStringGetTextDatum(run->target), BoolGetDatum(run->force)};
	const char *sql;

	if (strcmp(run->kind, "pull") == 0)
		sql = "SELECT sluice.pull($1)";
	else if (strcmp(run->kind, "build") == 0)
	{
		sql = "CALL sluice.build($1, force => $2)";
		values[0] = CStringGetTextDatum(psprintf("model:%s", run->target));
	}
	else
		sql = "SELECT count(*) FROM sluice.check($1::regclass)";
	if (SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0) < 0)
		elog(ERROR, "sluice worker: could not run %s %s", run->kind, run->target);
}

/*
 * Does the run's work in a transaction of its own, as the definition's owner; returns the error
 * (in the worker's context) or NULL.
 */
static ErrorData *
execute(ClaimedRun *run, bool *timed_out)
{
	ErrorData  *volatile error = NULL;
	TimestampTz started = GetCurrentTimestamp();

	Oid			cancelled_before;

	pgstat_report_activity(STATE_RUNNING, psprintf("sluice %s %s (run " INT64_FORMAT ")",
													run->kind, run->target, run->id));
	*timed_out = false;
	/* Cancels reach a run only while its work is under way; one left over is dropped. */
	QueryCancelPending = false;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	me->executing = true;
	cancelled_before = me->cancelled_by;
	LWLockRelease(shared->lock);
	RESUME_CANCEL_INTERRUPTS();
	PG_TRY();
	{
		RoleSwitch	rs;

		begin_transaction();
		/* Cancelled between its claim and now: nothing of it runs. */
		if (OidIsValid(cancelled_before))
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling run " INT64_FORMAT " before it started", run->id)));
		if (!OidIsValid(run->owner) || !SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(run->owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the role that owns %s %s no longer exists", run->kind, run->target),
					 errhint("Give the definition a new owner.")));
		role_switch_enter(&rs, run->owner, false, "pg_catalog, pg_temp");
		run_adopt(run->id, run->kind, run->target);
		if (run->timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, (int) Min(run->timeout_ms, INT_MAX));
		execute_as_owner(run);
		disable_timeout(STATEMENT_TIMEOUT, false);
		run_adopt(0, NULL, NULL);
		role_switch_exit(&rs);
		commit_transaction();
	}
	PG_CATCH();
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		run_adopt(0, NULL, NULL);
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(worker_context);
		error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		RESUME_INTERRUPTS();
		/* The cancel its statement timeout sent (the indicator is already reset by then). */
		*timed_out = error->sqlerrcode == ERRCODE_QUERY_CANCELED && run->timeout_ms > 0 &&
			TimestampDifferenceExceeds(started, GetCurrentTimestamp(), (int) Min(run->timeout_ms, INT_MAX));
		ereport(LOG,
				(errmsg("sluice worker: run " INT64_FORMAT " (%s %s) failed: %s",
						run->id, run->kind, run->target, error->message)));
	}
	PG_END_TRY();
	HOLD_CANCEL_INTERRUPTS();
	QueryCancelPending = false;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	me->executing = false;
	LWLockRelease(shared->lock);
	pgstat_report_activity(STATE_IDLE, NULL);
	return error;
}

/* Records what the run's own code could not, and queues a retry or skips what waited on it. */
static void
settle(ClaimedRun *run, ErrorData *error, bool timed_out)
{
	Oid			argtypes[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		values[5];
	char		nulls[5] = "     ";
	Oid			cancelled_by;

	LWLockAcquire(shared->lock, LW_SHARED);
	cancelled_by = me->cancelled_by;
	LWLockRelease(shared->lock);

	begin_transaction();
	values[0] = Int64GetDatum(run->id);
	if (error)
	{
		values[1] = CStringGetTextDatum(error->message);
		values[2] = CStringGetTextDatum(unpack_sql_state(error->sqlerrcode));
	}
	else
		nulls[1] = nulls[2] = 'n';
	if (OidIsValid(cancelled_by) && error)
		values[3] = CStringGetTextDatum(GetUserNameFromId(cancelled_by, true) ?
										GetUserNameFromId(cancelled_by, true) : "a dropped role");
	else
		nulls[3] = 'n';
	values[4] = BoolGetDatum(timed_out);
	catalog_exec("SELECT sluice._settle($1, $2, $3, $4, $5)", 5, argtypes, values, nulls, false);
	commit_transaction();

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (OidIsValid(cancelled_by) && error)
		me->last_cancelled = run->id;
	me->run_id = 0;
	me->cancelled_by = InvalidOid;
	LWLockRelease(shared->lock);
}

/* Deletes run history older than sluice.run_retention, at most once an hour per worker. */
static void
prune_history(void)
{
	static TimestampTz pruned = 0;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	if (sluice_run_retention_s == 0 ||
		!TimestampDifferenceExceeds(pruned, GetCurrentTimestamp(), 3600 * 1000))
		return;
	pruned = GetCurrentTimestamp();
	values[0] = CStringGetTextDatum(psprintf("%d seconds", sluice_run_retention_s));
	begin_transaction();
	catalog_exec("SELECT sluice._prune_runs($1::interval)", 1, argtypes, values, NULL, false);
	commit_transaction();
}

/*
 * Announces late definitions, sends due OpenLineage events (and prunes history when due); returns
 * when a worker is next needed here (0: not).
 */
static TimestampTz
next_wake(void)
{
	bool		isnull;
	Datum		when;
	TimestampTz wake;

	prune_history();
	begin_transaction();
	openlineage_deliver();
	commit_transaction();
	begin_transaction();
	catalog_exec("SELECT sluice._next_wake(sluice._freshness_sweep())", 0, NULL, NULL, NULL, false);
	when = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	wake = isnull ? 0 : DatumGetTimestampTz(when);
	commit_transaction();
	return wake;
}

void
sluice_worker_main(Datum arg)
{
	Oid			database;
	TimestampTz idle_since;
	TimestampTz wake = 0;
	TimestampTz swept = 0;
	bool		sweep_now = true;
	ClaimedRun	run;

	shared = scheduler_state();
	me = &shared->workers[DatumGetInt32(arg)];
	memcpy(&database, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* sluice.cancel's signal stops a run's work, never the worker's own bookkeeping. */
	HOLD_CANCEL_INTERRUPTS();

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	me->pid = MyProcPid;
	me->database = database;
	me->latch = MyLatch;
	me->started_at = GetCurrentTimestamp();
	LWLockRelease(shared->lock);
	before_shmem_exit(leave_slot, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
	pgstat_report_appname("sluice worker");
	worker_context = AllocSetContextCreate(TopMemoryContext, "sluice worker", ALLOCSET_DEFAULT_SIZES);
	if (!sluice_installed())
		proc_exit(0);
	settle_interrupted();

	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		TimestampTz now;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* Work first: a worker woken for a queued run claims it before anything else. */
		MemoryContextReset(worker_context);
		if (claim(&run))
		{
			bool		timed_out;
			ErrorData  *error = execute(&run, &timed_out);

			settle(&run, error, timed_out);
			idle_since = GetCurrentTimestamp();
			if (TimestampDifferenceExceeds(swept, idle_since, FRESHNESS_SWEEP_MS))
			{
				wake = next_wake();
				swept = GetCurrentTimestamp();
			}
			continue;
		}
		if (sweep_now || TimestampDifferenceExceeds(swept, GetCurrentTimestamp(), FRESHNESS_SWEEP_MS))
		{
			wake = next_wake();
			swept = GetCurrentTimestamp();
			sweep_now = false;
		}

		/* Nothing ready: linger, so the next run starts without a new worker. */
		now = GetCurrentTimestamp();
		if (TimestampDifferenceExceeds(idle_since, now, sluice_worker_idle_timeout_ms))
			break;
		wait_ms = sluice_worker_idle_timeout_ms - (long) ((now - idle_since) / 1000);
		if (wake > 0)
			wait_ms = Min(wait_ms, Max((wake - now) / 1000 + 1, 1));
		if (scheduler_go_idle(me))
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			LWLockAcquire(shared->lock, LW_EXCLUSIVE);
			me->idle = false;
			LWLockRelease(shared->lock);
		}
		/* Woken for work, a new objective or a deadline: freshness is looked at too. */
		sweep_now = true;
	}

	/* The launcher starts a worker here again when a backoff ends or an objective falls due. */
	wake = next_wake();
	if (wake > 0)
		scheduler_wake(database, 1, wake);
	proc_exit(0);
}
