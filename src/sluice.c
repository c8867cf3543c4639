/*
 * sluice.c: module entry point: the settings users can change and, when preloaded, the shared
 * memory sluice asks for and its launcher background worker.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "ingest/progress.h"
#include "lineage/lineage.h"
#include "scheduler/scheduler.h"
#include "sluice.h"

PG_MODULE_MAGIC;

int			sluice_http_timeout_ms = 60000;
int			sluice_http_connect_timeout_ms = 10000;
int			sluice_http_stall_timeout_s = 30;
int			sluice_http_max_response_mb = 256;
int			sluice_http_max_redirects = 5;
char	   *sluice_allowed_hosts = NULL;
int			sluice_publish_lock_timeout_ms = 200;
int			sluice_publish_timeout_ms = 60000;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("sluice.http_timeout",
							"Longest time one HTTP request of a pull may take.",
							NULL, &sluice_http_timeout_ms, 60000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.http_connect_timeout",
							"Longest time to wait for an HTTP connection.",
							NULL, &sluice_http_connect_timeout_ms, 10000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.http_stall_timeout",
							"Longest time an HTTP response may send nothing before the pull gives up.",
							NULL, &sluice_http_stall_timeout_s, 30, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.http_max_response_size",
							"Largest HTTP response body a pull accepts, in megabytes.",
							NULL, &sluice_http_max_response_mb, 256, 1, 4096,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.http_max_redirects",
							"How many HTTP redirects a request may follow.",
							NULL, &sluice_http_max_redirects, 5, 0, 50,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("sluice.allowed_hosts",
							   "Hosts that sources may reach, comma separated; empty allows every host.",
							   "Checked on the first URL and on every redirect.",
							   &sluice_allowed_hosts, "",
							   PGC_SUSET, GUC_LIST_INPUT, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.publish_lock_timeout",
							"Longest time a model's publish waits in line for its table's lock at one go.",
							"Queries that arrive meanwhile queue behind it; after this it steps aside and tries again.",
							&sluice_publish_lock_timeout_ms, 200, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.publish_timeout",
							"Longest time a model's publish keeps trying to take its table's lock.",
							"After this the build fails and the previous version stays published.",
							&sluice_publish_timeout_ms, 60000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.max_workers",
							"Most background workers sluice runs queued runs with, in all databases.",
							"Each also takes one of max_worker_processes.",
							&sluice_max_workers, 2, 0, SCHEDULER_MAX_WORKERS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.worker_idle_timeout",
							"How long a worker with nothing to run waits for work before it exits.",
							NULL, &sluice_worker_idle_timeout_ms, 10000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sluice.run_retention",
							"How long sluice's workers keep run history; 0 keeps it all.",
							"Each target's last successful run is always kept.",
							&sluice_run_retention_s, 30 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("sluice.capture_lineage",
							 "Records lineage of the INSERT ... SELECT, CREATE TABLE AS, CREATE MATERIALIZED VIEW and REFRESH statements sessions run.",
							 "Top-level statements only, as edges from what the plan read to what it wrote, with the role.",
							 &sluice_capture_lineage, false, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("sluice.openlineage_url",
							   "Where sluice's workers send the OpenLineage events of finished runs; empty sends none.",
							   "An http(s) URL that sluice.allowed_hosts permits, e.g. Marquez's /api/v1/lineage.",
							   &sluice_openlineage_url, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("sluice.openlineage_secret",
							   "The sluice secret sent as a bearer token to sluice.openlineage_url.",
							   NULL, &sluice_openlineage_secret, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("sluice");

	capture_init();

	/* The launcher and shared memory exist only when preloaded, and never during pg_upgrade. */
	if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade)
	{
		progress_shmem_init();
		scheduler_init();
	}
}
