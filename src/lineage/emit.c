/*
 * emit.c: sending OpenLineage events from the outbox to sluice.openlineage_url, in sluice's
 * workers, so that a slow or dead endpoint never slows or fails a run.  A failed delivery is
 * retried later with backoff (sluice._openlineage_failed); the endpoint's address and token stay
 * out of every message.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "ingest/http.h"
#include "lineage/lineage.h"
#include "util/role.h"

char	   *sluice_openlineage_url = NULL;
char	   *sluice_openlineage_secret = NULL;

/* Events sent in one go; the rest wait for the next round. */
#define BATCH 50

typedef struct Delivery
{
	const char *body;
	long		status;
} Delivery;

static void
post(void *arg)
{
	Delivery   *d = arg;
	HttpClient *client = http_client_create("OpenLineage emission");
	HttpResponse response;
	const char *piece;

	http_client_set_retry(client, 1, 0, 0);
	http_client_set_json_body(client, d->body);
	if (sluice_openlineage_secret && sluice_openlineage_secret[0])
	{
		char	   *token = secret_value_for(sluice_openlineage_secret, sluice_catalog_owner(),
											 "setting", "sluice.openlineage_secret");

		http_client_add_secret(client, token);
		http_client_add_header(client, "Authorization", psprintf("Bearer %s", token));
	}
	http_open(client, sluice_openlineage_url, &response);
	d->status = response.status;
	if (response.status < 300)
		while (http_read(client, &piece) > 0)
			;
}

void
openlineage_deliver(void)
{
	MemoryContext batch;

	if (sluice_openlineage_url == NULL || sluice_openlineage_url[0] == '\0')
		return;
	batch = AllocSetContextCreate(CurrentMemoryContext, "sluice OpenLineage batch", ALLOCSET_DEFAULT_SIZES);
	catalog_exec("SELECT id, event::text FROM sluice.openlineage_outbox"
				 " WHERE sent_at IS NULL AND next_attempt <= now()"
				 " ORDER BY id LIMIT " CppAsString2(BATCH) " FOR UPDATE SKIP LOCKED",
				 0, NULL, NULL, NULL, false);
	{
		uint64		n = SPI_processed;
		SPITupleTable *events = SPI_tuptable;

		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;
			Datum		id = SPI_getbinval(events->vals[i], events->tupdesc, 1, &isnull);
			Delivery	d = {SPI_getvalue(events->vals[i], events->tupdesc, 2), 0};
			MemoryContext old = MemoryContextSwitchTo(batch);
			ErrorData  *error = run_guarded(post, &d);
			char	   *failure = NULL;

			MemoryContextSwitchTo(old);
			if (error)
				failure = error->message;
			else if (d.status >= 300)
				failure = psprintf("the endpoint answered HTTP %ld", d.status);
			if (failure)
			{
				catalog_exec("SELECT sluice._openlineage_failed($1, $2)", 2,
							 (Oid[]) {INT8OID, TEXTOID}, (Datum[]) {id, CStringGetTextDatum(failure)},
							 NULL, false);
				break;			/* the endpoint is down or refusing: the rest wait */
			}
			catalog_exec("UPDATE sluice.openlineage_outbox SET sent_at = now(), attempts = attempts + 1,"
						 " last_error = NULL WHERE id = $1", 1, (Oid[]) {INT8OID}, (Datum[]) {id},
						 NULL, false);
			MemoryContextReset(batch);
		}
	}
	MemoryContextDelete(batch);
}
