/*
 * progress.h: what each running pull is doing, for other connections to watch.
 *
 * One slot per backend in shared memory, written only by its backend; needs sluice in
 * shared_preload_libraries (without it, progress is simply not reported).
 */
#ifndef SLUICE_PROGRESS_H
#define SLUICE_PROGRESS_H

/* Called from _PG_init while preloading. */
extern void progress_shmem_init(void);

extern void progress_start(int64 run_id, const char *source, Oid owner);
extern void progress_update(long pages, int64 records, int64 bytes, const char *current_url);
extern void progress_end(void);

#endif
