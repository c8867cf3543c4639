/*
 * column_lineage.h: for every output column of a query, the input columns it is computed from.
 */
#ifndef SLUICE_COLUMN_LINEAGE_H
#define SLUICE_COLUMN_LINEAGE_H

#include "nodes/parsenodes.h"

typedef struct ColumnEdge
{
	Oid			from_relid;		/* a table, view or materialized view */
	char	   *from_column;
	char	   *to_column;		/* "*" for a filter or join key */
	const char *kind;			/* identity, transformation, aggregation, filter or join */
} ColumnEdge;

/*
 * The column edges of an analyzed query, followed through subqueries, CTEs, joins, set
 * operations, sublinks and functions in FROM; each (from, to) pair once, with its strongest kind.
 * Filter and join keys come last, with to_column "*".
 */
extern List *query_column_lineage(Query *query);

#endif
