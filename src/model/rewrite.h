/*
 * rewrite.h: a model's SELECT narrowed to new rows, the way incremental builds need it.
 *
 * Conditions are added to the raw parse tree of the model's own SELECT (so they can name its
 * inputs by their aliases), then the tree is analyzed and printed back as SQL by PostgreSQL
 * itself; the text that runs is exactly what the parser understood.
 */
#ifndef SLUICE_REWRITE_H
#define SLUICE_REWRITE_H

#include "nodes/parsenodes.h"

/*
 * The model's SQL with `condition` (SQL over its inputs; `what` names it in errors) added to its
 * top-level WHERE.
 */
extern char *model_sql_where(const char *sql, const char *model, const char *condition,
							 const char *what);

/*
 * For a model that groups: *groups_sql selects the distinct unique_key values of the groups that
 * rows matching `condition` fall in, and *restricted_sql is the model's SQL computing only the
 * groups whose keys are given as arrays in $1, $2, ... (whole groups, from all their rows).
 * key_types are the types of the unique_key columns.
 */
extern void model_sql_groups(const char *sql, const char *model, List *unique_key, Oid *key_types,
							 const char *condition, const char *what,
							 char **groups_sql, char **restricted_sql);

/* The relation and column an input_cursor ("alias.column") names, and the column's type. */
extern void model_input_cursor(Query *query, const char *model, const char *input_cursor,
							   Oid *relid, char **column, Oid *typid);

/* Whether the query's top level groups rows (GROUP BY, aggregates, HAVING). */
extern bool query_is_grouped(Query *query);

#endif
