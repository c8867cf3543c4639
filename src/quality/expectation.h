/*
 * expectation.h: the kinds of expectation, their arguments, and what can be checked about a
 * definition before any relation is read.
 */
#ifndef SLUICE_EXPECTATION_H
#define SLUICE_EXPECTATION_H

#include "nodes/pg_list.h"

#include "catalog/catalog.h"

/* How a kind is checked: which part of the compiled scan it needs. */
typedef enum KindClass
{
	KIND_NOT_NULL,				/* nulls counted */
	KIND_VALUE,					/* a condition every non-null value must meet */
	KIND_UNIQUE,				/* no non-null value (or combination) twice */
	KIND_RELATIONSHIP,			/* every non-null value found in another relation */
	KIND_AGGREGATE,				/* an aggregate of the column within bounds */
	KIND_ROW_COUNT,				/* the number of rows within bounds */
	KIND_COLUMN_EXISTS,			/* the column is there, of the type given */
	KIND_FRESHNESS,				/* the newest timestamp is recent enough */
	KIND_VOLUME,				/* the row count is not an outlier of its history */
	KIND_CUSTOM					/* a query's rows are the failures */
} KindClass;

typedef struct KindSpec
{
	const char *name;
	KindClass	class;
	bool		needs_column;
	const char *aggregate;		/* KIND_AGGREGATE: what is computed */
	const char *args;			/* arguments taken, space-separated; a trailing ! marks a required one */
} KindSpec;

/* The kind of e; errors naming e when there is no such kind. */
extern const KindSpec *expectation_kind(const ExpectationDef *e);

/* Whether the kind tests each row (so that mostly applies). */
extern bool kind_counts_rows(const KindSpec *kind);

/*
 * Errors naming e unless its kind, column, arguments, mostly and row_filter make sense whatever
 * the relation (regular expressions compile, custom SQL is one SELECT, row_filter is one
 * condition).
 */
extern void expectation_validate(const ExpectationDef *e);

/* In a PG_CATCH block: rethrows the error with its message prefixed by the expectation's name. */
extern void expectation_rethrow(const char *name, MemoryContext cxt) pg_attribute_noreturn();

/* An argument that is a scalar, as text (numbers as written, booleans true/false), or NULL. */
extern char *expectation_arg(const ExpectationDef *e, const char *key);

/* An argument that is an array of scalars, as texts (NULL for null), or NIL. */
extern List *expectation_arg_list(const ExpectationDef *e, const char *key);

/* A boolean argument, or dflt when absent. */
extern bool expectation_arg_bool(const ExpectationDef *e, const char *key, bool dflt);

/* The columns e is about: its column_name, or the columns argument of a compound unique. */
extern List *expectation_columns(const ExpectationDef *e);

#endif
