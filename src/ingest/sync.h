/*
 * sync.h: sync modes, in Airbyte's words: how a pull's records meet the rows already there.
 *
 *   full_refresh_overwrite  the pull's records replace every row (in one transaction: readers
 *                           see the old rows until it commits)
 *   full_refresh_append     the records are added
 *   incremental_append      only records past the stored cursor are added
 *   incremental_dedup       records past the stored cursor are upserted on the primary key, the
 *                           one with the latest cursor winning
 *
 * Incremental records land in a temporary staging table first and are merged from there.
 */
#ifndef SLUICE_SYNC_H
#define SLUICE_SYNC_H

#include "nodes/pg_list.h"
#include "utils/palloc.h"

typedef enum SyncMode
{
	SYNC_OVERWRITE,
	SYNC_APPEND,
	SYNC_INCREMENTAL_APPEND,
	SYNC_INCREMENTAL_DEDUP
} SyncMode;

typedef struct Sync
{
	SyncMode	mode;
	const char *who;
	MemoryContext context;		/* for cursor: lives as long as the pull */
	const char *target;			/* quoted qualified name */
	Oid			owner;
	const char *cursor_field;
	List	   *primary_key;	/* String */
	char	   *floor;			/* JSON: the cursor records must pass, or NULL for all */
	char	   *cursor;			/* JSON: the greatest cursor loaded so far, or NULL */
	bool		staging;		/* the staging table exists */
	int64		merged;			/* rows added or updated in the target */
	int64		without_cursor; /* incremental records skipped for a null cursor */
} Sync;

extern SyncMode sync_mode_from_name(const char *name);

/* Prepares the target, if it exists yet, for the pull's records (empties it for an overwrite). */
extern void sync_begin(Sync *sync, Oid target);

/* The relation records are loaded into: the target itself, or a staging table made for them. */
extern Oid	sync_load_relation(Sync *sync, Oid target, List *column_names);

/* Moves what the last load put in staging into the target and advances the cursor. */
extern void sync_merge(Sync *sync, Oid target, List *column_names);

/* Drops the staging table. */
extern void sync_end(Sync *sync);

#endif
