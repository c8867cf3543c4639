/*
 * check.c: sluice.check(relation): evaluate every expectation on a relation, record the results
 * and return one row per expectation.
 *
 * Null counts for every not_null and unique expectation come from one aggregate scan; each
 * unique expectation adds one grouped scan for its duplicates.  The queries run with the
 * caller's privileges: checking never reads more than the caller could.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_check);

#define MAX_SAMPLE 20

typedef struct Check
{
	Oid			relid;
	const char *target;			/* quoted qualified name */
	List	   *expectations;	/* ExpectationDef */
	CheckOutcome *outcomes;		/* one per expectation, in order */
} Check;

static int64
int8_value(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static void
spi_select(const char *sql)
{
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "check query returned no row: %s", sql);
}

static double
percent(int64 part, int64 whole)
{
	return whole > 0 ? 100.0 * (double) part / (double) whole : 0.0;
}

static void
evaluate(void *arg)
{
	Check	   *c = arg;
	int			n = list_length(c->expectations);
	int64	   *nulls = palloc(sizeof(int64) * n);
	StringInfoData sql;
	RoleSwitch	rs;
	ListCell   *lc;
	int64		element_count;

	foreach(lc, c->expectations)
	{
		ExpectationDef *e = lfirst(lc);

		if (get_attnum(c->relid, e->column_name) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("expectation \"%s\": column \"%s\" of relation %s does not exist",
							e->name, e->column_name, c->target),
					 errhint("Drop the expectation with sluice.drop_expectation('%s'), or redefine it.",
							 e->name)));
	}

	role_switch_enter(&rs, GetUserId(), false, "pg_catalog, pg_temp");

	/* One scan: the row count and the null count of each expectation's column. */
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT count(*)");
	foreach(lc, c->expectations)
		appendStringInfo(&sql, ", count(*) FILTER (WHERE %s IS NULL)",
						 quote_identifier(((ExpectationDef *) lfirst(lc))->column_name));
	appendStringInfo(&sql, " FROM %s", c->target);
	spi_select(sql.data);
	element_count = int8_value(1);
	for (int i = 0; i < n; i++)
		nulls[i] = int8_value(i + 2);

	foreach(lc, c->expectations)
	{
		int			i = foreach_current_index(lc);
		ExpectationDef *e = lfirst(lc);
		CheckOutcome *o = &c->outcomes[i];
		const char *col = quote_identifier(e->column_name);

		o->expectation = e;
		o->element_count = element_count;
		if (strcmp(e->kind, "not_null") == 0)
		{
			o->unexpected_count = nulls[i];
			o->unexpected_percent = percent(nulls[i], element_count);
			o->observed_value = psprintf("{\"null_count\": " INT64_FORMAT "}", nulls[i]);
		}
		else
		{
			/* Uniqueness as Great Expectations counts it: every non-null row whose value repeats. */
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "WITH dup AS (SELECT %s AS v, count(*) AS n FROM %s WHERE %s IS NOT NULL"
							 " GROUP BY %s HAVING count(*) > 1)"
							 " SELECT coalesce(sum(n), 0)::bigint, count(*),"
							 " (SELECT jsonb_agg(to_jsonb(v)) FROM (SELECT v FROM dup"
							 " ORDER BY n DESC, v::text LIMIT %d) AS sample)::text FROM dup",
							 col, c->target, col, col, MAX_SAMPLE);
			spi_select(sql.data);
			o->unexpected_count = int8_value(1);
			o->unexpected_percent = percent(o->unexpected_count, element_count - nulls[i]);
			o->observed_value = psprintf("{\"duplicated_values\": " INT64_FORMAT "}", int8_value(2));
			o->partial_unexpected_list = SPI_getvalue(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 3);
			if (o->partial_unexpected_list == NULL)
				o->partial_unexpected_list = "[]";
		}
		o->success = o->unexpected_count == 0;
	}
	role_switch_exit(&rs);
}

Datum
sluice_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	Check		c = {0};
	RunRecord	run;
	ErrorData  *error;
	StringInfoData failures;
	int			failed = 0;
	int			warned = 0;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	c.relid = relid;
	c.target = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										  get_rel_name(relid));
	c.expectations = expectations_for(c.target);
	if (c.expectations == NIL)
	{
		ereport(NOTICE,
				(errmsg("relation %s has no expectations", c.target),
				 errhint("Add one with sluice.expect('%s', 'not_null', 'column').", c.target)));
		SPI_finish();
		return (Datum) 0;
	}
	c.outcomes = palloc0(sizeof(CheckOutcome) * list_length(c.expectations));
	run_begin(&run, "check", c.target, GetUserId());

	error = run_guarded(evaluate, &c);
	if (error)
	{
		run_record_autonomously(&run, "failed", error->message, unpack_sql_state(error->sqlerrcode));
		ReThrowError(error);
	}

	initStringInfo(&failures);
	for (int i = 0; i < list_length(c.expectations); i++)
	{
		CheckOutcome *o = &c.outcomes[i];

		if (o->success)
			continue;
		if (strcmp(o->expectation->severity, "error") != 0)
		{
			warned++;
			continue;
		}
		appendStringInfo(&failures, "%s%s", failed ? ", " : "", o->expectation->name);
		failed++;
	}

	run.rows = c.outcomes[0].element_count;
	run_detail(&run, "expectations", psprintf("%d", list_length(c.expectations)));
	run_detail(&run, "failed", psprintf("%d", failed));
	run_detail(&run, "warned", psprintf("%d", warned));
	(void) run_finish(&run, failed ? "failed" : "success",
					  failed ? psprintf("%d of %d expectations failed on %s: %s", failed,
										list_length(c.expectations), c.target, failures.data)
					  : NULL);
	for (int i = 0; i < list_length(c.expectations); i++)
	{
		CheckOutcome *o = &c.outcomes[i];
		Datum		values[10];
		bool		nulls[10] = {0};

		check_result_save(run.id, c.target, o);

		values[0] = CStringGetTextDatum(o->expectation->name);
		values[1] = CStringGetTextDatum(o->expectation->kind);
		values[2] = CStringGetTextDatum(o->expectation->column_name);
		values[3] = CStringGetTextDatum(o->expectation->severity);
		values[4] = BoolGetDatum(o->success);
		values[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(o->observed_value));
		values[6] = Int64GetDatum(o->element_count);
		values[7] = Int64GetDatum(o->unexpected_count);
		values[8] = DirectFunctionCall3(numeric_in,
										CStringGetDatum(psprintf("%.4f", o->unexpected_percent)),
										ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		if (o->partial_unexpected_list)
			values[9] = DirectFunctionCall1(jsonb_in, CStringGetDatum(o->partial_unexpected_list));
		else
			nulls[9] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	SPI_finish();
	return (Datum) 0;
}
