/*
 * schema.h: a source's target table: created from declared or inferred columns, and grown when
 * records bring members it lacks (schema drift).
 */
#ifndef SLUICE_SCHEMA_H
#define SLUICE_SCHEMA_H

#include "nodes/pg_list.h"
#include "utils/relcache.h"

/* ColumnSpec for each FieldSeen, typed by what its values looked like. */
extern List *schema_columns_for_fields(List *fields);

/* CREATE TABLE target (columns) with primary_key (column names) when given. */
extern void schema_create_table(const char *target, List *columns, List *primary_key);

/* ALTER TABLE target ADD COLUMN for each ColumnSpec. */
extern void schema_add_columns(const char *target, List *columns);

/* The table's loadable columns as ColumnSpec, each read from the record member of its name. */
extern List *schema_table_columns(Relation rel);

#endif
