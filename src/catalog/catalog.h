/*
 * catalog.h: the only door from C into sluice's own tables.
 *
 * Every statement here runs as the catalog owner with search_path pinned to pg_catalog, so a
 * caller's objects can never be picked up by name; callers must be connected to SPI.
 */
#ifndef SLUICE_CATALOG_H
#define SLUICE_CATALOG_H

#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "utils/timestamp.h"

/* Runs one statement on the catalog; results are in SPI_tuptable. */
extern int	catalog_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
						 const char *nulls, bool read_only);

/* A source definition, as pull needs it. */
typedef struct SourceDef
{
	char	   *name;
	Oid			owner;
	char	   *kind;
	char	   *target_schema;
	char	   *target_name;
	char	   *config;			/* JSON text */
	char	   *sync_mode;
	char	   *cursor_field;	/* or NULL */
	List	   *primary_key;	/* column names */
	char	   *on_error;		/* fail, quarantine */
	char	   *schema_drift;	/* add_columns, ignore, fail */
} SourceDef;

extern SourceDef *source_load(const char *name);

/* A source's sync state (JSON text), or NULL before its first pull. */
extern char *source_state_load(const char *source);
extern void source_state_save(const char *source, int64 run_id, const char *state_json);

/* Quarantine: records a pull could not load, kept to be replayed. */
typedef struct QuarantinedRecord
{
	int64		id;
	char	   *record;			/* JSON text */
} QuarantinedRecord;

extern void quarantine_save(const char *source, int64 run_id, const char *record_json,
							const char *error, const char *sqlstate);
extern List *quarantine_pending(const char *source);
extern void quarantine_mark_replayed(int64 id, int64 run_id);

/* A model definition, as build needs it. */
typedef struct ModelDef
{
	int64		id;
	char	   *name;
	Oid			owner;
	char	   *sql;
	char	   *materialized;
	char	   *target_schema;
	char	   *target_name;
	char	   *search_path;
	char	   *definition_hash;	/* what a build depends on (recorded with it) */
	char	   *shape_hash;		/* what a full rebuild depends on: query and target */
	/* options (see sluice.model.options); NULL or NIL when not set */
	char	   *strategy;
	List	   *unique_key;		/* column names */
	char	   *cursor;			/* an output column */
	char	   *input_cursor;	/* alias.column of an input */
	char	   *predicate;		/* SQL condition over the inputs */
	char	   *updated_at;		/* snapshot: the column that dates a change */
	List	   *check_cols;		/* snapshot: columns compared; NIL for all */
	bool		invalidate_hard_deletes;
	List	   *contract_names; /* declared columns, in order */
	List	   *contract_types; /* their types, as written */
	bool		keep_rejected;	/* table: keep rows its expectations rejected */
} ModelDef;

/* A step of a build plan: a model and the ids of the models it reads. */
typedef struct PlanStep
{
	int64		model_id;
	char	   *name;
	List	   *upstream;		/* int64 ids, palloc'd */
} PlanStep;

extern List *build_plan(const char *selector);

/* The model's definition, its row locked until the transaction ends (one build at a time). */
extern ModelDef *model_load(int64 id);

/* Why the model must be built, or NULL when nothing it reads changed since its last build. */
extern char *model_build_reason(int64 id);

/* The shape hash and input-cursor high-water mark of the last successful build (NULLs if none). */
extern void model_last_build(int64 id, char **shape, char **high_water);

/* The CREATE INDEX statements the model's table needs (declared, unique key). */
extern List *model_index_statements(int64 id);

/* GRANT and COMMENT statements that give a re-created relation what relid had. */
extern List *relation_extras(Oid relid, const char *new_kind);

/* An expectation on a relation (see sluice.expectation). */
typedef struct ExpectationDef
{
	int64		id;				/* 0 for an ad-hoc expectation */
	char	   *name;
	Oid			owner;
	char	   *target;			/* quoted qualified name */
	char	   *kind;
	char	   *column_name;	/* or NULL */
	char	   *args;			/* JSON object */
	double		mostly;
	char	   *row_filter;		/* SQL condition or NULL */
	char	   *severity;		/* error or warn */
	char	   *search_path;
} ExpectationDef;

/* The expectations attached to a relation, by name. */
extern List *expectations_for(const char *target);
extern ExpectationDef *expectation_by_id(int64 id);

/*
 * The member `member` (a number) of the observed values of the expectation's last n successful
 * results, newest first (double *).
 */
extern List *expectation_history(int64 id, const char *member, int n);

/* Secrets */
extern char *secret_value_for(const char *secret, Oid user_owner, const char *user_kind,
							  const char *user_name);

/*
 * Lineage: `to` (of kind to_kind) is produced from `inputs` (parallel lists of names and
 * kinds) via a source or model; edges via it that no longer hold are removed.
 */
/*
 * Adds edges (keeping the others) from inputs to `to` via via_kind/via_name, with the statement
 * that made them; an edge seen before gets a new last_seen.
 */
extern void lineage_add_inputs(const char *via_kind, const char *via_name, const char *statement,
							   const char *to, const char *to_kind, List *input_names,
							   List *input_kinds);

extern void lineage_replace_inputs(const char *via_kind, const char *via_name,
								   const char *to, const char *to_kind,
								   List *input_names, List *input_kinds, int64 run_id);

/*
 * Column lineage of `to` via a source or model: parallel lists, one entry per column edge, each
 * from a column of a relation already recorded as an input (lineage_replace_inputs); the
 * previous column edges via it are replaced.
 */
extern void lineage_replace_columns(const char *via_kind, const char *via_name, const char *to,
									List *from_names, List *from_columns, List *to_columns,
									List *kinds);

#endif
