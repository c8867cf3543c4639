/*
 * deps.h: what a model's SQL reads, from PostgreSQL's own parser.
 */
#ifndef SLUICE_DEPS_H
#define SLUICE_DEPS_H

#include "nodes/pg_list.h"

/* Errors unless sql is one SELECT that writes nothing; `model` names it in the error. */
extern void model_sql_validate(const char *sql, const char *model);

/* The relation OIDs the SELECT reads, after parse analysis (subqueries, CTEs, sublinks too). */
extern List *model_input_relations(const char *sql);

#endif
