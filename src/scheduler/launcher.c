/*
 * launcher.c: the one launcher per cluster.  It only decides where workers run: it starts a
 * worker for each database whose queue asks for one, up to sluice.max_workers in all, and frees
 * the slots of workers that stopped.  It reads no sluice tables; the workers do the work.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "scheduler/scheduler.h"
#include "util/bgworker.h"

/* Retry after this when no background worker slot was free. */
#define NO_SLOT_RETRY_MS 1000

static BackgroundWorkerHandle *handles[SCHEDULER_MAX_WORKERS];

/* After a start or a crash: every database's queue is looked at once (runs left queued or running). */
static void
wake_every_database(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate)
			scheduler_wake(db->oid, 1, 0);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
}

/*
 * Forgets the workers that have stopped (a worker frees its own slot as it exits; one that never
 * got that far is freed here); returns how many slots are in use.
 */
static int
reap_workers(SchedulerState *s)
{
	int			in_use = 0;

	for (int i = 0; i < SCHEDULER_MAX_WORKERS; i++)
	{
		pid_t		pid;

		if (handles[i] != NULL && GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			LWLockAcquire(s->lock, LW_EXCLUSIVE);
			if (s->workers[i].pid == -1)
				memset(&s->workers[i], 0, sizeof(WorkerSlot));
			LWLockRelease(s->lock);
			pfree(handles[i]);
			handles[i] = NULL;
		}
	}
	LWLockAcquire(s->lock, LW_SHARED);
	for (int i = 0; i < SCHEDULER_MAX_WORKERS; i++)
		if (s->workers[i].pid != 0)
			in_use++;
	LWLockRelease(s->lock);
	return in_use;
}

static bool
start_worker(SchedulerState *s, int slot, Oid database)
{
	BackgroundWorker worker;

	sluice_bgworker(&worker, psprintf("sluice worker %d", slot), "sluice worker", "sluice_worker_main");
	worker.bgw_main_arg = Int32GetDatum(slot);
	memcpy(worker.bgw_extra, &database, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, &handles[slot]);
}

/*
 * Starts the workers databases ask for now; returns how long until the next request falls due
 * (-1: none).
 */
static long
start_wanted_workers(SchedulerState *s, int in_use)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next = DT_NOEND;

	for (int d = 0; d < SCHEDULER_MAX_DATABASES; d++)
	{
		DatabaseWake *db = &s->databases[d];

		LWLockAcquire(s->lock, LW_EXCLUSIVE);
		while (db->database != InvalidOid && db->wake_at <= now && db->wanted > 0 &&
			   db->released_until <= now && in_use < sluice_max_workers)
		{
			int			slot = -1;
			Oid			database = db->database;

			for (int i = 0; i < SCHEDULER_MAX_WORKERS && slot < 0; i++)
				if (s->workers[i].pid == 0 && handles[i] == NULL)
					slot = i;
			if (slot < 0)
				break;
			s->workers[slot].pid = -1;
			s->workers[slot].database = database;
			LWLockRelease(s->lock);

			if (!start_worker(s, slot, database))
			{
				LWLockAcquire(s->lock, LW_EXCLUSIVE);
				s->workers[slot].pid = 0;
				LWLockRelease(s->lock);
				ereport(LOG,
						(errmsg("sluice launcher: no background worker slot is free for a sluice worker"),
						 errhint("Raise max_worker_processes.")));
				return NO_SLOT_RETRY_MS;
			}
			in_use++;
			LWLockAcquire(s->lock, LW_EXCLUSIVE);
			if (--db->wanted <= 0)
				db->wake_at = DT_NOEND;
		}
		if (db->database != InvalidOid && db->wanted > 0 && Max(db->wake_at, db->released_until) < next)
			next = Max(db->wake_at, db->released_until);
		LWLockRelease(s->lock);
	}
	if (next == DT_NOEND)
		return -1;
	/* Due now but no worker slot is free: a stopping worker sets the latch. */
	if (next <= now)
		return -1;
	return (long) Min((next - now) / 1000 + 1, (TimestampTz) 3600 * 1000);
}

void
sluice_launcher_main(Datum arg)
{
	SchedulerState *s = scheduler_state();

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("sluice launcher");

	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->launcher_latch = MyLatch;
	/* A slot a previous launcher was starting a worker in, and never heard back from. */
	for (int i = 0; i < SCHEDULER_MAX_WORKERS; i++)
		if (s->workers[i].pid == -1)
			memset(&s->workers[i], 0, sizeof(WorkerSlot));
	LWLockRelease(s->lock);
	wake_every_database();

	for (;;)
	{
		int			in_use;
		long		timeout;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		in_use = reap_workers(s);
		timeout = start_wanted_workers(s, in_use);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
	}
}
