/*
 * insert.h: rows of COPY text inserted through the table's own multi-insert path.
 *
 * COPY spends a quarter of a load re-reading its text; the rows sluice writes have one simple
 * form, so for a plain table they are split here and go straight to the input functions,
 * constraints, multi-row heap inserts and indexes.  Anything else is left to COPY.
 */
#ifndef SLUICE_INSERT_H
#define SLUICE_INSERT_H

#include "nodes/pg_list.h"
#include "utils/relcache.h"

/* Whether rel can take rows here: a plain table, no triggers, no generated columns, UTF-8. */
extern bool insert_supported(Relation rel);

/*
 * Inserts rows of COPY text (fields split by tabs, \N for null, backslash escapes) into the named
 * columns (String) of rel, the others taking their defaults; returns the rows inserted.  The
 * caller has checked the privileges, as COPY would.  data is read in place: it is written to while
 * a field is converted, and is as it was when this returns or fails.
 */
extern uint64 insert_rows(Relation rel, List *rtable, List *column_names, char *data, int length);

#endif
