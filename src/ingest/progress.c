/*
 * progress.c: the shared-memory slots behind sluice.pull_progress.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ingest/progress.h"

PG_FUNCTION_INFO_V1(sluice_pull_progress);

#define PROGRESS_URL_LEN 512

typedef struct PullProgress
{
	slock_t		mutex;
	int			pid;			/* 0: no pull running */
	Oid			owner;			/* the source's; only its members see the slot */
	int64		run_id;
	char		source[NAMEDATALEN * 2];
	TimestampTz started_at;
	long		pages;
	int64		records;
	int64		bytes;
	char		current_url[PROGRESS_URL_LEN];
} PullProgress;

static PullProgress *slots = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
slots_size(void)
{
	return mul_size(sizeof(PullProgress), MaxBackends);
}

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(slots_size());
}

static void
attach_shmem(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slots = ShmemInitStruct("sluice pull progress", slots_size(), &found);
	if (!found)
	{
		memset(slots, 0, slots_size());
		for (int i = 0; i < MaxBackends; i++)
			SpinLockInit(&slots[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
progress_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = attach_shmem;
}

static PullProgress *
my_slot(void)
{
	if (slots == NULL || MyBackendId == InvalidBackendId || MyBackendId > MaxBackends)
		return NULL;
	return &slots[MyBackendId - 1];
}

/* A backend that exits in the middle of a pull leaves no stale slot behind. */
static void
clear_on_exit(int code, Datum arg)
{
	progress_end();
}

void
progress_start(int64 run_id, const char *source, Oid owner)
{
	PullProgress *slot = my_slot();
	static bool exit_hook = false;

	if (slot == NULL)
		return;
	if (!exit_hook)
	{
		before_shmem_exit(clear_on_exit, (Datum) 0);
		exit_hook = true;
	}
	SpinLockAcquire(&slot->mutex);
	slot->pid = MyProcPid;
	slot->owner = owner;
	slot->run_id = run_id;
	strlcpy(slot->source, source, sizeof(slot->source));
	slot->started_at = GetCurrentTimestamp();
	slot->pages = 0;
	slot->records = 0;
	slot->bytes = 0;
	slot->current_url[0] = '\0';
	SpinLockRelease(&slot->mutex);
}

void
progress_update(long pages, int64 records, int64 bytes, const char *current_url)
{
	PullProgress *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->pages = pages;
	slot->records = records;
	slot->bytes = bytes;
	if (current_url)
		strlcpy(slot->current_url, current_url, sizeof(slot->current_url));
	SpinLockRelease(&slot->mutex);
}

void
progress_end(void)
{
	PullProgress *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->pid = 0;
	SpinLockRelease(&slot->mutex);
}

/* SQL: sluice._pull_progress(): one row per pull running now whose source the caller may see. */
Datum
sluice_pull_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (slots == NULL)
		return (Datum) 0;
	for (int i = 0; i < MaxBackends; i++)
	{
		PullProgress copy;
		Datum		values[8];
		bool		nulls[8] = {0};

		SpinLockAcquire(&slots[i].mutex);
		copy = slots[i];
		SpinLockRelease(&slots[i].mutex);
		if (copy.pid == 0 || !is_member_of_role(GetUserId(), copy.owner))
			continue;
		values[0] = Int32GetDatum(copy.pid);
		values[1] = Int64GetDatum(copy.run_id);
		values[2] = CStringGetTextDatum(copy.source);
		values[3] = TimestampTzGetDatum(copy.started_at);
		values[4] = Int64GetDatum((int64) copy.pages);
		values[5] = Int64GetDatum(copy.records);
		values[6] = Int64GetDatum(copy.bytes);
		values[7] = CStringGetTextDatum(copy.current_url);
		nulls[7] = copy.current_url[0] == '\0';
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
