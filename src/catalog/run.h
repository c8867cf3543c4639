/*
 * run.h: run records (sluice.run): one per pull, build and check.
 *
 * A successful run is recorded in the caller's transaction, so it commits with the data it
 * describes.  A failed run is recorded by a short-lived background worker in a transaction of its
 * own, because the caller's transaction is about to abort with the error.
 */
#ifndef SLUICE_RUN_H
#define SLUICE_RUN_H

#include "lib/stringinfo.h"
#include "utils/elog.h"
#include "utils/timestamp.h"

typedef struct RunRecord
{
	int64		id;
	const char *kind;			/* pull, build, check */
	const char *target;			/* the definition or relation it ran */
	Oid			owner;
	TimestampTz started_at;
	int64		rows;			/* -1: not applicable */
	int64		bytes;			/* -1: not applicable */
	StringInfoData details;		/* members of a JSON object, without braces */
	StringInfoData check_results;	/* JSON objects, comma-separated, recorded with the run */
} RunRecord;

extern void run_begin(RunRecord *run, const char *kind, const char *target, Oid owner);

/*
 * A worker executing a queued run: the next run_begin of that kind and target records into the
 * queued row `id` instead of starting a new one.  run_adopt(0, NULL, NULL) forgets it.
 */
extern void run_adopt(int64 id, const char *kind, const char *target);

/* New data landed in relation (a pull loaded rows, a model published): queue what waits on it. */
extern void run_landed(const char *relation);

/* Adds "key": value to the run's details; value is JSON text. */
extern void run_detail(RunRecord *run, const char *key, const char *json_value);

/* Adds "key": "text" to the run's details, the text escaped as a JSON string. */
extern void run_detail_text(RunRecord *run, const char *key, const char *text);

/*
 * Adds a result for sluice.check_result (a JSON object with its columns) to be recorded with the
 * run, whether it succeeds or fails.
 */
extern void run_check_result(RunRecord *run, const char *json_object);

/*
 * Records the run (and its results so far) in the current transaction (again, for a run that commits in steps: the row is
 * updated); returns the sluice.run row as a composite datum.
 */
extern Datum run_finish(RunRecord *run, const char *status, const char *error);

/* Records a failed or skipped run in a transaction of its own. */
extern void run_record_autonomously(RunRecord *run, const char *status, const char *error,
									const char *sqlstate);

/*
 * Runs body(arg) in a subtransaction.  On error the subtransaction is rolled back, leaving
 * everything as it was, and the error is returned for the caller to record; NULL on success.
 */
extern ErrorData *run_guarded(void (*body) (void *arg), void *arg);

#endif
