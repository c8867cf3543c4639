/*
 * graph.c: walking the lineage graph breadth first, each dataset once, one index lookup per
 * level (a recursive CTE would follow every path, and paths multiply in a wide graph).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/hsearch.h"

PG_FUNCTION_INFO_V1(sluice_walk);

/*
 * Edges, nearest first: each edge into (upstream) or out of (downstream) a dataset reached, and
 * the dataset at its other end.
 */
static const char *const level_sql[2] = {
	"SELECT e.id, e.from_id, e.to_id, e.via_kind, e.via_name, e.to_id"
	" FROM sluice.lineage_edge e JOIN sluice.dataset d ON d.id = e.to_id"
	" WHERE e.from_id = ANY ($1) AND d.dropped_at IS NULL",
	"SELECT e.id, e.from_id, e.to_id, e.via_kind, e.via_name, e.from_id"
	" FROM sluice.lineage_edge e JOIN sluice.dataset d ON d.id = e.from_id"
	" WHERE e.to_id = ANY ($1) AND d.dropped_at IS NULL",
};

Datum
sluice_walk(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		start = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	bool		upstream = PG_GETARG_BOOL(1);
	int			max_depth = PG_ARGISNULL(2) ? INT_MAX : PG_GETARG_INT32(2);
	HASHCTL		ctl = {.keysize = sizeof(int64), .entrysize = sizeof(int64), .hcxt = CurrentMemoryContext};
	HTAB	   *seen = hash_create("sluice lineage walk", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	List	   *frontier = list_make1(palloc(sizeof(int64)));
	SPIPlanPtr	plan;
	Oid			argtypes[1] = {INT8ARRAYOID};

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;		/* a relation nothing has recorded lineage for */
	*(int64 *) linitial(frontier) = start;
	(void) hash_search(seen, &start, HASH_ENTER, NULL);
	SPI_connect();
	plan = SPI_prepare(level_sql[upstream ? 1 : 0], 1, argtypes);

	for (int depth = 1; frontier != NIL && depth <= max_depth; depth++)
	{
		Datum	   *ids = palloc(sizeof(Datum) * list_length(frontier));
		Datum		values[1];
		List	   *next = NIL;
		ListCell   *lc;
		int			n = 0;

		foreach(lc, frontier)
			ids[n++] = Int64GetDatum(*(int64 *) lfirst(lc));
		values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "sluice: could not walk the lineage graph");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		nulls[6] = {false};
			Datum		row[6] = {Int32GetDatum(depth)};
			int64		reached;
			bool		found;

			for (int c = 1; c < 6; c++)
				row[c] = SPI_getbinval(tup, desc, c, &nulls[c]);
			reached = DatumGetInt64(SPI_getbinval(tup, desc, 6, &nulls[5]));

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
			(void) hash_search(seen, &reached, HASH_ENTER, &found);
			if (!found)
			{
				int64	   *id = palloc(sizeof(int64));

				*id = reached;
				next = lappend(next, id);
			}
		}
		frontier = next;
	}
	SPI_finish();
	return (Datum) 0;
}
