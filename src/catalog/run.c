/*
 * run.c: recording runs, in the caller's transaction or, for failures, in one of their own.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "util/bgworker.h"
#include "util/role.h"

/* What a failing backend hands the recorder worker. */
typedef struct RecorderMessage
{
	Oid			database;
	Oid			role;
	bool		recorded;		/* set by the worker once its transaction committed */
	char		row[FLEXIBLE_ARRAY_MEMBER]; /* the sluice.run row as JSON */
} RecorderMessage;

PGDLLEXPORT void sluice_run_recorder_main(Datum arg);

/* The queued run a worker is executing (see run_adopt). */
static int64 adopted_id = 0;
static const char *adopted_kind;
static const char *adopted_target;

void
run_adopt(int64 id, const char *kind, const char *target)
{
	adopted_id = id;
	adopted_kind = kind;
	adopted_target = target;
}

void
run_begin(RunRecord *run, const char *kind, const char *target, Oid owner)
{
	if (adopted_id != 0 && strcmp(kind, adopted_kind) == 0 && strcmp(target, adopted_target) == 0)
	{
		run->id = adopted_id;
		adopted_id = 0;
	}
	else
	{
		catalog_exec("SELECT nextval('sluice.run_id_seq')", 0, NULL, NULL, NULL, false);
		run->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											  &(bool){false}));
	}
	run->kind = kind;
	run->target = target;
	run->owner = owner;
	run->started_at = GetCurrentTimestamp();
	run->rows = -1;
	run->bytes = -1;
	initStringInfo(&run->details);
	initStringInfo(&run->check_results);
}

void
run_detail(RunRecord *run, const char *key, const char *json_value)
{
	if (run->details.len > 0)
		appendStringInfoString(&run->details, ", ");
	escape_json(&run->details, key);
	appendStringInfo(&run->details, ": %s", json_value);
}

void
run_detail_text(RunRecord *run, const char *key, const char *text)
{
	StringInfoData s;

	initStringInfo(&s);
	escape_json(&s, text);
	run_detail(run, key, s.data);
}

void
run_check_result(RunRecord *run, const char *json_object)
{
	if (run->check_results.len > 0)
		appendStringInfoString(&run->check_results, ", ");
	appendStringInfoString(&run->check_results, json_object);
}

/*
 * The run as a JSON object whose keys are sluice.run's columns, and check_results: the results
 * not yet recorded.
 */
static char *
run_as_json(RunRecord *run, const char *status, const char *error, const char *sqlstate)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "{\"id\": " INT64_FORMAT ", \"kind\": ", run->id);
	escape_json(&s, run->kind);
	appendStringInfoString(&s, ", \"target\": ");
	escape_json(&s, run->target);
	if (OidIsValid(run->owner))
		appendStringInfo(&s, ", \"owner\": \"%u\"", run->owner);
	appendStringInfoString(&s, ", \"trigger\": \"manual\", \"attempt\": 1, \"status\": ");
	escape_json(&s, status);
	appendStringInfoString(&s, ", \"started_at\": ");
	escape_json(&s, timestamptz_to_str(run->started_at));
	appendStringInfoString(&s, ", \"finished_at\": ");
	escape_json(&s, timestamptz_to_str(GetCurrentTimestamp()));
	if (run->rows >= 0)
		appendStringInfo(&s, ", \"rows\": " INT64_FORMAT, run->rows);
	if (run->bytes >= 0)
		appendStringInfo(&s, ", \"bytes\": " INT64_FORMAT, run->bytes);
	if (error)
	{
		appendStringInfoString(&s, ", \"error\": ");
		escape_json(&s, error);
	}
	if (sqlstate)
		appendStringInfo(&s, ", \"sqlstate\": \"%s\"", sqlstate);
	appendStringInfo(&s, ", \"details\": {%s}, \"check_results\": [%s]}", run->details.data,
					 run->check_results.data);
	return s.data;
}

/* The run and its results, in one statement (the results' foreign key is checked at its end). */
static const char *insert_run_sql =
"WITH run AS (INSERT INTO sluice.run SELECT * FROM jsonb_populate_record(NULL::sluice.run, $1)"
" ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,"
" rows = excluded.rows, bytes = excluded.bytes, error = excluded.error,"
" sqlstate = excluded.sqlstate, details = excluded.details"
" RETURNING *),"
" results AS (INSERT INTO sluice.check_result (run_id, expectation_id, expectation, target, kind,"
" column_name, severity, success, observed_value, element_count, missing_count, unexpected_count,"
" unexpected_percent, partial_unexpected_list)"
" SELECT ($1->>'id')::bigint,"
/* The expectation may be gone, or (for a failure recorded from outside) not yet committed. */
" (SELECT e.id FROM sluice.expectation e WHERE e.id = r.expectation_id), r.expectation, r.target, r.kind,"
" r.column_name, r.severity, r.success, r.observed_value, r.element_count, r.missing_count,"
" r.unexpected_count, round(r.unexpected_percent, 4), r.partial_unexpected_list"
" FROM jsonb_to_recordset($1->'check_results') AS r(expectation_id bigint, expectation text,"
" target text, kind text, column_name text, severity text, success boolean, observed_value jsonb,"
" element_count bigint, missing_count bigint, unexpected_count bigint, unexpected_percent numeric,"
" partial_unexpected_list jsonb))"
" SELECT * FROM run";

Datum
run_finish(RunRecord *run, const char *status, const char *error)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		values[1];

	values[0] = DirectFunctionCall1(jsonb_in,
									CStringGetDatum(run_as_json(run, status, error, NULL)));
	catalog_exec(insert_run_sql, 1, argtypes, values, NULL, false);
	resetStringInfo(&run->check_results);
	return PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
}

void
run_record_autonomously(RunRecord *run, const char *status, const char *error,
						const char *sqlstate)
{
	char	   *row = run_as_json(run, status, error, sqlstate);
	Size		size = offsetof(RecorderMessage, row) + strlen(row) + 1;
	dsm_segment *seg = dsm_create(size, 0);
	RecorderMessage *msg = dsm_segment_address(seg);
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	msg->database = MyDatabaseId;
	msg->role = sluice_catalog_owner();
	msg->recorded = false;
	strcpy(msg->row, row);

	sluice_bgworker(&worker, psprintf("sluice run recorder for run " INT64_FORMAT, run->id),
					"sluice run recorder", "sluice_run_recorder_main");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(WARNING,
				(errmsg("run " INT64_FORMAT " (%s %s) %s but could not be recorded",
						run->id, run->kind, run->target, status),
				 errdetail("No background worker slot was free."),
				 errhint("Raise max_worker_processes.")));
	else if (WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED || !msg->recorded)
		ereport(WARNING,
				(errmsg("run " INT64_FORMAT " (%s %s) %s but could not be recorded",
						run->id, run->kind, run->target, status),
				 errdetail("The recorder worker failed; see the server log.")));
	dsm_detach(seg);
}

void
sluice_run_recorder_main(Datum arg)
{
	dsm_segment *seg;
	RecorderMessage *msg;
	Oid			argtypes[1] = {JSONBOID};
	Datum		values[1];

	BackgroundWorkerUnblockSignals();
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "sluice run recorder");
	seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == NULL)
		ereport(ERROR, (errmsg("sluice run recorder: the failing backend is gone")));
	msg = dsm_segment_address(seg);

	BackgroundWorkerInitializeConnectionByOid(msg->database, msg->role, 0);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(msg->row));
	catalog_exec(insert_run_sql, 1, argtypes, values, NULL, false);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	msg->recorded = true;
	dsm_detach(seg);
	proc_exit(0);
}

void
run_landed(const char *relation)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(relation)};

	catalog_exec("SELECT sluice._upstream_landed($1)", 1, argtypes, values, NULL, false);
}

ErrorData *
run_guarded(void (*body) (void *arg), void *arg)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_cxt);
	PG_TRY();
	{
		body(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_cxt);
		CurrentResourceOwner = caller_owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_cxt);
		CurrentResourceOwner = caller_owner;
	}
	PG_END_TRY();
	return edata;
}
