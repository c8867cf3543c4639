/*
 * deps.h: what a model's SQL reads, from PostgreSQL's own parser.
 */
#ifndef SLUICE_DEPS_H
#define SLUICE_DEPS_H

#include "nodes/parsenodes.h"

/*
 * The raw parse trees of sql; a syntax error names the model and `what` was being parsed, its
 * position counted after the first prefix_len characters (text sluice put around the user's).
 */
extern List *model_raw_parse(const char *sql, const char *model, const char *what, int prefix_len);

/* The raw parse tree of the model's SQL; errors unless it is one SELECT (INTO not allowed). */
extern SelectStmt *model_select_stmt(const char *sql, const char *model);

/* Errors unless sql is one SELECT that writes nothing; `model` names it in the error. */
extern void model_sql_validate(const char *sql, const char *model);

/* The model's SQL after parse analysis, as the current user with the current search_path. */
extern Query *model_query(const char *sql);

/* The relation OIDs an analyzed query reads (subqueries, CTEs, sublinks too). */
extern List *model_input_relations(Query *query);

#endif
