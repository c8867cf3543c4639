/*
 * lineage.h: recording the lineage of a query (table and column edges) and the graph queries
 * behind sluice.upstream, sluice.downstream and sluice.scan_lineage.
 */
#ifndef SLUICE_LINEAGE_H
#define SLUICE_LINEAGE_H

#include "nodes/parsenodes.h"

/* "table", "view" or "materialized_view", as sluice.dataset spells a relation's kind. */
extern const char *dataset_kind(Oid relid);

/*
 * Records that `target` (a quoted qualified name, of kind target_kind) is made by `query` via a
 * source, model or view named via_name: an edge from each relation the query reads, and its
 * column edges.  Replaces what was recorded for via_name before.
 */
extern void lineage_record_query(const char *via_kind, const char *via_name, const char *target,
								 const char *target_kind, Query *query, int64 run_id);

/* Passive capture (sluice.capture_lineage): installs the executor and utility hooks. */
extern bool sluice_capture_lineage;
extern void capture_init(void);

/* OpenLineage emission (sluice.openlineage_url, sluice.openlineage_secret): sends the events due
 * in the outbox; called by sluice's workers inside a transaction, connected to SPI. */
extern char *sluice_openlineage_url;
extern char *sluice_openlineage_secret;
extern void openlineage_deliver(void);

#endif
