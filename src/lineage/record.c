/*
 * record.c: the lineage of a query, from PostgreSQL's analysis of it, into sluice's catalog.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "utils/lsyscache.h"

#include "catalog/catalog.h"
#include "lineage/lineage.h"
#include "model/column_lineage.h"
#include "model/deps.h"
#include "util/relname.h"

const char *
dataset_kind(Oid relid)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized_view";
		default:
			return "table";
	}
}

void
lineage_record_query(const char *via_kind, const char *via_name, const char *target,
					 const char *target_kind, Query *query, int64 run_id)
{
	List	   *names = NIL;
	List	   *kinds = NIL;
	List	   *from_names = NIL;
	List	   *from_columns = NIL;
	List	   *to_columns = NIL;
	List	   *column_kinds = NIL;
	ListCell   *lc;

	foreach(lc, model_input_relations(query))
	{
		Oid			relid = lfirst_oid(lc);
		char	   *name = relation_quoted_name(relid);

		if (strcmp(name, target) == 0)
			continue;
		names = lappend(names, name);
		kinds = lappend(kinds, (char *) dataset_kind(relid));
	}
	lineage_replace_inputs(via_kind, via_name, target, target_kind, names, kinds, run_id);

	foreach(lc, query_column_lineage(query))
	{
		ColumnEdge *e = lfirst(lc);

		from_names = lappend(from_names, relation_quoted_name(e->from_relid));
		from_columns = lappend(from_columns, e->from_column);
		to_columns = lappend(to_columns, e->to_column);
		column_kinds = lappend(column_kinds, (char *) e->kind);
	}
	lineage_replace_columns(via_kind, via_name, target, from_names, from_columns, to_columns,
							column_kinds);
}
