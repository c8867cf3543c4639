/*
 * compile.h: expectations on one relation compiled into as few scans as possible.
 *
 * Every count, null count, value condition and parallel-safe aggregate of every expectation goes
 * into one aggregate query with FILTER clauses, so PostgreSQL reads the relation once, with a
 * parallel plan.  What cannot share that scan gets a query of its own, with the plan that suits
 * it: uniqueness is proved by a unique index when one covers the columns, and grouped otherwise;
 * relationships are an anti-join; medians and distinct counts are grouped.  Samples of
 * unexpected values are read only for expectations that found some.
 */
#ifndef SLUICE_COMPILE_H
#define SLUICE_COMPILE_H

#include "nodes/pg_list.h"

#include "catalog/catalog.h"

typedef struct CheckTarget
{
	Oid			relid;			/* the relation read */
	Oid			vouching_relid; /* whose unique indexes prove uniqueness, or InvalidOid */
	const char *name;			/* the relation the expectations are attached to (in messages) */
	TransactionId batch_since;	/* valid: only the rows written by this transaction id, or
								 * later ones of the current transaction */
} CheckTarget;

/* What one expectation found, in Great Expectations' words. */
typedef struct CheckOutcome
{
	ExpectationDef *expectation;
	bool		success;
	char	   *observed_value; /* JSON text, or NULL */
	int64		element_count;	/* rows considered; -1 when it does not apply */
	int64		missing_count;	/* nulls among them; -1 when it does not apply */
	int64		unexpected_count;	/* -1 when it does not apply */
	double		unexpected_percent; /* of the non-null values (of all rows for not_null); NaN: none */
	char	   *partial_unexpected_list;	/* JSON array of up to 20 values, or NULL */
} CheckOutcome;

/*
 * Evaluates the expectations on t, each as its owner (with its search_path), filling one outcome
 * per expectation, in order; returns the number of queries that read the relation.
 */
extern int	check_evaluate(const CheckTarget *t, List *expectations, CheckOutcome *outcomes);

/*
 * Errors naming e unless its queries plan against t as its owner: its columns exist, its
 * arguments fit their types, its row_filter and custom SQL are valid there, and its owner may
 * read the relations it reads.
 */
extern void check_compile(const CheckTarget *t, ExpectationDef *e);

/* The outcome as a sluice.check_result row in JSON (see run_check_result). */
extern char *check_outcome_json(const CheckOutcome *o);

/* The column (or "a, b" for several) an expectation is about, or NULL. */
extern char *expectation_column_label(const ExpectationDef *e);

#endif
