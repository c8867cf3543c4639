/*
 * load.h: loading rows through PostgreSQL's own COPY machinery.
 *
 * COPY does type input, defaults, constraints, triggers, partition routing and multi-row
 * inserts; sluice only produces COPY text.
 */
#ifndef SLUICE_LOAD_H
#define SLUICE_LOAD_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"

/* Appends more COPY text rows to out; returns false when there is nothing more. */
typedef bool (*CopyProducer) (void *arg, StringInfo out);

/*
 * COPYs what produce yields (UTF-8 text) into the named columns (a List of String) of rel, with the
 * current user's privileges; returns the number of rows loaded.
 */
extern uint64 load_copy(Relation rel, List *column_names, CopyProducer produce, void *arg);

#endif
