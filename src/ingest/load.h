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
#include "utils/elog.h"
#include "utils/relcache.h"

/* Appends more COPY text rows to out; returns false when there is nothing more. */
typedef bool (*CopyProducer) (void *arg, StringInfo out);

/*
 * COPYs what produce yields into the named columns (a List of String) of rel, with the current
 * user's privileges; returns the number of rows loaded.  options are COPY's (DefElem); NIL reads
 * COPY text in UTF-8.
 */
extern uint64 load_copy(Relation rel, List *column_names, List *options, CopyProducer produce,
						void *arg);

/* Records on their way to a table: a COPY text line each and, when kept, their JSON text. */
typedef struct RecordBatch
{
	StringInfoData rows;
	StringInfoData records;		/* each record's JSON text and a newline */
	List	   *record_ends;	/* the end offset of each record in records (int) */
	int64		count;
} RecordBatch;

extern void batch_init(RecordBatch *batch);
extern void batch_reset(RecordBatch *batch);

/* Takes a record COPY refused (its JSON text) and the error. */
typedef void (*RejectHandler) (void *arg, const char *record, ErrorData *error);

/*
 * Loads the batch's rows into rel; returns the number loaded.  Without a reject handler any
 * error fails the load.  With one, a record whose values or constraints fail is handed to it and
 * the others are loaded (the batch is halved until each bad record stands alone); the records'
 * JSON text must have been kept.
 */
extern uint64 load_batch(Relation rel, List *column_names, RecordBatch *batch,
						 RejectHandler reject, void *arg);

#endif
