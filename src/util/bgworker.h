/*
 * bgworker.h: how sluice describes its background workers (all connect to a database and run
 * from this library).
 */
#ifndef SLUICE_BGWORKER_H
#define SLUICE_BGWORKER_H

#include "postmaster/bgworker.h"

/* Fills *worker: a database worker of type `type` entering at `function`, never restarted. */
static inline void
sluice_bgworker(BackgroundWorker *worker, const char *name, const char *type, const char *function)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	strlcpy(worker->bgw_name, name, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker->bgw_library_name, "sluice", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
}

#endif
