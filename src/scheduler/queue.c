/*
 * queue.c: sluice.enqueue and sluice.cancel, the caller's doors into the run queue.  Both check
 * the caller's rights as the caller, then write the queue as the catalog owner.
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/regproc.h"

#include "catalog/catalog.h"
#include "scheduler/scheduler.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_enqueue);
PG_FUNCTION_INFO_V1(sluice_cancel);

/* How long sluice.cancel waits for a running run's work to roll back. */
#define CANCEL_WAIT_MS 10000

/* Errors unless the caller may run this step of a plan; returns the role it runs as. */
static Oid
require_may_run(const char *kind, const char *name, Oid owner)
{
	if (strcmp(kind, "check") == 0)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(name)),
											 NoLock, false);

		if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to check %s", name),
					 errdetail("Checking shows values of the relation; it needs SELECT on it.")));
		return GetUserId();
	}
	require_member_of_owner(owner, strcmp(kind, "pull") == 0 ? "source" : "model", name);
	return owner;
}

Datum
sluice_enqueue(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *selector = PG_ARGISNULL(0) ? "*" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		force = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	char	   *trigger = PG_ARGISNULL(2) ? "enqueue" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			argtypes[3] = {TEXTOID, BOOLOID, TEXTOID};
	Datum		values[3];
	StringInfoData plan;

	InitMaterializedSRF(fcinfo, 0);
	if (strcmp(trigger, "enqueue") != 0 && strcmp(trigger, "schedule") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown trigger \"%s\"", trigger),
				 errhint("Use enqueue (the default) or schedule.")));
	SPI_connect();

	/* As the caller: the plan holds what the caller can see. */
	values[0] = CStringGetTextDatum(selector);
	if (SPI_execute_with_args("SELECT step, kind, name, owner, upstream"
							  " FROM sluice._run_plan($1, '{pull,build,check}')",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not plan the runs of \"%s\"", selector);

	initStringInfo(&plan);
	appendStringInfoChar(&plan, '[');
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *kind = SPI_getvalue(tup, desc, 2);
		char	   *name = SPI_getvalue(tup, desc, 3);
		bool		isnull;
		Oid			owner = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));

		owner = require_may_run(kind, name, owner);
		appendStringInfo(&plan, "%s{\"step\": %s, \"kind\": ", i > 0 ? ", " : "", SPI_getvalue(tup, desc, 1));
		escape_json(&plan, kind);
		appendStringInfoString(&plan, ", \"name\": ");
		escape_json(&plan, name);
		appendStringInfo(&plan, ", \"owner\": %u, \"upstream\": \"%s\"}", owner, SPI_getvalue(tup, desc, 5));
	}
	appendStringInfoChar(&plan, ']');
	if (SPI_processed == 0)
		ereport(NOTICE, (errmsg("nothing to run matches \"%s\"", selector)));
	else if (scheduler_state() == NULL || sluice_max_workers == 0)
		ereport(WARNING,
				(errmsg("no sluice worker will run the queued runs"),
				 errdetail(scheduler_state() == NULL ? "sluice is not in shared_preload_libraries." :
						   "sluice.max_workers is 0."),
				 errhint("Add sluice to shared_preload_libraries and restart, and set sluice.max_workers.")));

	values[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(plan.data));
	values[1] = BoolGetDatum(force);
	values[2] = CStringGetTextDatum(trigger);
	argtypes[0] = JSONBOID;
	catalog_exec("SELECT * FROM sluice._enqueue_plan($1, $2, $3)", 3, argtypes, values, NULL, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		row[4];
		bool		nulls[4];

		for (int c = 0; c < 4; c++)
			row[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
		row[1] = CStringGetTextDatum(TextDatumGetCString(row[1]));
		row[2] = CStringGetTextDatum(TextDatumGetCString(row[2]));
		if (!nulls[3])
			row[3] = PointerGetDatum(DatumGetArrayTypePCopy(row[3]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * Stops a run a worker holds: 1 once the worker has settled it as cancelled, 2 when it finished
 * before the cancel reached it, 0 when it is still stopping, -1 when no worker holds it.
 */
static int
stop_running(int64 run_id)
{
	SchedulerState *s = scheduler_state();
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CANCEL_WAIT_MS);
	WorkerSlot *slot = NULL;

	if (s == NULL)
		return -1;
	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SCHEDULER_MAX_WORKERS && slot == NULL; i++)
		if (s->workers[i].pid > 0 && s->workers[i].database == MyDatabaseId &&
			s->workers[i].run_id == run_id)
			slot = &s->workers[i];
	/* Before its work starts the worker sees the flag; during it, the signal. */
	if (slot)
	{
		slot->cancelled_by = GetUserId();
		if (slot->executing)
			kill(slot->pid, SIGINT);
	}
	LWLockRelease(s->lock);
	if (slot == NULL)
		return -1;

	for (;;)
	{
		bool		settled;
		bool		cancelled;

		LWLockAcquire(s->lock, LW_SHARED);
		settled = slot->run_id != run_id;
		cancelled = slot->last_cancelled == run_id;
		LWLockRelease(s->lock);
		if (settled)
			return cancelled ? 1 : 2;
		if (GetCurrentTimestamp() > deadline)
			return 0;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000);
	}
}

Datum
sluice_cancel(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	Oid			argtypes[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		values[5] = {Int64GetDatum(run_id)};
	char		nulls[5] = "  n  ";
	char	   *status;
	Oid			owner;
	bool		isnull;
	char	   *result = NULL;

	SPI_connect();
	catalog_exec("SELECT status, owner FROM sluice.run WHERE id = $1", 1, argtypes, values, NULL, true);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("run " INT64_FORMAT " does not exist", run_id)));
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull || !is_member_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to cancel run " INT64_FORMAT, run_id),
				 errdetail("It runs as role \"%s\"; only its members may cancel it.",
						   isnull ? "?" : GetUserNameFromId(owner, true))));

	if (strcmp(status, "queued") == 0)
	{
		/* Settled with the row locked: a worker's claim cannot take it meanwhile. */
		catalog_exec("SELECT FROM sluice.run WHERE id = $1 AND status = 'queued' FOR UPDATE",
					 1, argtypes, values, NULL, false);
		if (SPI_processed == 1)
		{
			values[1] = values[2] = (Datum) 0;
			nulls[1] = nulls[2] = 'n';
			nulls[3] = ' ';
			values[3] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
			values[4] = BoolGetDatum(false);
			catalog_exec("SELECT sluice._settle($1, $2, $3, $4, $5)", 5, argtypes, values, nulls, false);
			SPI_finish();
			PG_RETURN_TEXT_P(cstring_to_text("cancelled"));
		}
		status = "running";		/* claimed meanwhile */
	}
	if (strcmp(status, "running") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("run " INT64_FORMAT " has already finished (%s)", run_id, status)));
	switch (stop_running(run_id))
	{
		case 1:
			result = "cancelled";
			break;
		case 2:
			result = "finished before the cancel reached it";
			break;
		case 0:
			result = "stopping";
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("run " INT64_FORMAT " is not running in a sluice worker", run_id),
					 errhint("A run started in a session stops with pg_cancel_backend() on that session.")));
	}
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
