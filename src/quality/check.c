/*
 * check.c: the SQL surface of expectations: sluice.check(relation), ad-hoc checks, and the
 * validation behind sluice.expect.
 */
#include "postgres.h"

#include <math.h>

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "catalog/run.h"
#include "quality/audit.h"
#include "quality/expectation.h"
#include "util/relname.h"

PG_FUNCTION_INFO_V1(sluice_check);
PG_FUNCTION_INFO_V1(sluice_check_ad_hoc);
PG_FUNCTION_INFO_V1(sluice_expectation_valid);
PG_FUNCTION_INFO_V1(sluice_expectation_compiles);
PG_FUNCTION_INFO_V1(sluice_written_in_batch);

/* One row of sluice.check's result. */
static void
put_outcome(ReturnSetInfo *rsinfo, const CheckOutcome *o)
{
	ExpectationDef *e = o->expectation;
	char	   *column = expectation_column_label(e);
	Datum		values[11];
	bool		nulls[11] = {0};

	values[0] = CStringGetTextDatum(e->name);
	values[1] = CStringGetTextDatum(e->kind);
	values[2] = column ? CStringGetTextDatum(column) : (nulls[2] = true, 0);
	values[3] = CStringGetTextDatum(e->severity);
	values[4] = BoolGetDatum(o->success);
	values[5] = o->observed_value ? DirectFunctionCall1(jsonb_in, CStringGetDatum(o->observed_value))
		: (nulls[5] = true, 0);
	values[6] = o->element_count >= 0 ? Int64GetDatum(o->element_count) : (nulls[6] = true, 0);
	values[7] = o->missing_count >= 0 ? Int64GetDatum(o->missing_count) : (nulls[7] = true, 0);
	values[8] = o->unexpected_count >= 0 ? Int64GetDatum(o->unexpected_count) : (nulls[8] = true, 0);
	values[9] = !isnan(o->unexpected_percent)
		? DirectFunctionCall3(numeric_in, CStringGetDatum(psprintf("%.4f", o->unexpected_percent)),
							  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))
		: (nulls[9] = true, 0);
	values[10] = o->partial_unexpected_list
		? DirectFunctionCall1(jsonb_in, CStringGetDatum(o->partial_unexpected_list))
		: (nulls[10] = true, 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

typedef struct CheckCall
{
	Oid			relid;
	const char *target;
	RunRecord  *run;
	Audit		audit;
} CheckCall;

static void
audit_guarded(void *arg)
{
	CheckCall  *call = arg;

	(void) audit_relation(call->target, call->relid, call->relid, InvalidTransactionId, call->run,
						  &call->audit);
}

Datum
sluice_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	CheckCall	call = {relid, relation_quoted_name(relid)};
	RunRecord	run;
	ErrorData  *error;
	Audit	   *a = &call.audit;

	InitMaterializedSRF(fcinfo, 0);
	/* The results hold sample values: only those who may read the relation may check it. */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to check %s", call.target),
				 errdetail("Checking shows values of the relation; it needs SELECT on it.")));
	SPI_connect();
	run_begin(&run, "check", call.target, GetUserId());
	call.run = &run;

	error = run_guarded(audit_guarded, &call);
	if (error)
	{
		resetStringInfo(&run.check_results);
		run_record_autonomously(&run, "failed", error->message, unpack_sql_state(error->sqlerrcode));
		ReThrowError(error);
	}
	if (a->expectations == NIL)
	{
		ereport(NOTICE,
				(errmsg("relation %s has no expectations", call.target),
				 errhint("Add one with sluice.expect('%s', 'not_null', 'column').", call.target)));
		SPI_finish();
		return (Datum) 0;
	}

	for (int i = 0; i < list_length(a->expectations) && run.rows < 0; i++)
		run.rows = a->outcomes[i].element_count;
	audit_describe(&run, a);
	(void) run_finish(&run, a->failed ? "failed" : "success",
					  a->failed ? psprintf("%d of %d expectations failed on %s: %s", a->failed,
										   list_length(a->expectations), call.target, a->failures)
					  : NULL);
	for (int i = 0; i < list_length(a->expectations); i++)
		put_outcome(rsinfo, &a->outcomes[i]);
	SPI_finish();
	return (Datum) 0;
}

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static char *
jsonb_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? "{}" : DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(n)));
}

Datum
sluice_check_ad_hoc(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ExpectationDef *e = palloc0(sizeof(ExpectationDef));
	CheckOutcome outcome;
	CheckTarget t = {0};

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("a check needs a target relation")));
	t.relid = t.vouching_relid = PG_GETARG_OID(0);
	t.name = relation_quoted_name(t.relid);
	e->kind = text_arg(fcinfo, 1);
	e->name = psprintf("ad hoc %s", e->kind ? e->kind : "check");
	e->owner = GetUserId();
	e->target = (char *) t.name;
	e->column_name = text_arg(fcinfo, 2);
	e->args = jsonb_arg(fcinfo, 3);
	e->mostly = PG_ARGISNULL(4) ? 1 : PG_GETARG_FLOAT8(4);
	e->row_filter = text_arg(fcinfo, 5);
	e->severity = "error";
	e->search_path = GetConfigOptionByName("search_path", NULL, false);
	expectation_validate(e);

	SPI_connect();
	(void) check_evaluate(&t, list_make1(e), &outcome);
	put_outcome(rsinfo, &outcome);
	SPI_finish();
	return (Datum) 0;
}

Datum
sluice_expectation_valid(PG_FUNCTION_ARGS)
{
	ExpectationDef e = {0};

	e.name = text_arg(fcinfo, 0);
	e.kind = text_arg(fcinfo, 1);
	e.column_name = text_arg(fcinfo, 2);
	e.args = jsonb_arg(fcinfo, 3);
	e.mostly = PG_ARGISNULL(4) ? 1 : PG_GETARG_FLOAT8(4);
	e.row_filter = text_arg(fcinfo, 5);
	expectation_validate(&e);
	PG_RETURN_BOOL(true);
}

Datum
sluice_expectation_compiles(PG_FUNCTION_ARGS)
{
	ExpectationDef *e;
	CheckTarget t = {0};

	SPI_connect();
	e = expectation_by_id(PG_GETARG_INT64(0));
	t.relid = t.vouching_relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(e->target)),
												  AccessShareLock, false);
	t.name = e->target;
	check_compile(&t, e);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
sluice_written_in_batch(PG_FUNCTION_ARGS)
{
	TransactionId xmin = DatumGetTransactionId(PG_GETARG_DATUM(0));

	/* Transaction ids only grow: the batch's (sub)transactions got theirs after it began. */
	PG_RETURN_BOOL(TransactionIdIsCurrentTransactionId(xmin) &&
				   TransactionIdFollowsOrEquals(xmin, DatumGetTransactionId(PG_GETARG_DATUM(1))));
}
