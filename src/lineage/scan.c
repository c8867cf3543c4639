/*
 * scan.c: sluice.scan_lineage(): the lineage of every view and materialized view in the
 * database (not only sluice's models), from the query tree PostgreSQL stores for each.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "rewrite/prs2lock.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "catalog/catalog.h"
#include "lineage/lineage.h"
#include "util/relname.h"

PG_FUNCTION_INFO_V1(sluice_scan_lineage);

/* Views outside the system schemas and sluice's own, and not built by a sluice model. */
static const char *views_sql =
"SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
" WHERE c.relkind IN ('v', 'm')"
"   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sluice')"
"   AND n.nspname !~ '^pg_(toast|temp)'"
"   AND NOT EXISTS (SELECT FROM sluice.model m"
"                   WHERE m.target_schema = n.nspname AND m.target_name = c.relname)"
" ORDER BY n.nspname, c.relname";

/* The query a view or materialized view stands for: the action of its ON SELECT rule. */
static Query *
stored_query(Relation rel)
{
	RuleLock   *rules = rel->rd_rules;

	for (int i = 0; rules != NULL && i < rules->numLocks; i++)
	{
		RewriteRule *rule = rules->rules[i];

		if (rule->event == CMD_SELECT && list_length(rule->actions) == 1)
			return copyObject(linitial_node(Query, rule->actions));
	}
	return NULL;
}

Datum
sluice_scan_lineage(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *views = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	if (SPI_execute(views_sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "sluice: could not list the views");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		views = lappend_oid(views, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																  SPI_tuptable->tupdesc, 1, &isnull)));
	}

	foreach(lc, views)
	{
		Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);
		Query	   *query = stored_query(rel);
		char	   *name = relation_quoted_name(RelationGetRelid(rel));
		const char *kind = dataset_kind(RelationGetRelid(rel));
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		bool		isnull;

		/* The lock stays until the end of the transaction, so the view cannot change meanwhile. */
		table_close(rel, NoLock);
		if (query == NULL)
			continue;
		lineage_record_query("view", name, name, kind, query, 0);
		catalog_exec("SELECT count(DISTINCT e.id), count(c.id) FROM sluice.lineage_edge e"
					 " LEFT JOIN sluice.column_lineage c ON c.edge_id = e.id"
					 " WHERE e.via_kind = 'view' AND e.via_name = $1",
					 1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(name)}, NULL, false);
		values[0] = CStringGetTextDatum(name);
		values[1] = Int32GetDatum((int32) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
																	  SPI_tuptable->tupdesc, 1, &isnull)));
		values[2] = Int32GetDatum((int32) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
																	  SPI_tuptable->tupdesc, 2, &isnull)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
