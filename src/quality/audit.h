/*
 * audit.h: the expectations of a relation checked before its new data is published (write,
 * audit, publish), and by sluice.check.
 */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H

#include "catalog/run.h"
#include "quality/compile.h"

typedef struct Audit
{
	List	   *expectations;	/* ExpectationDef */
	CheckOutcome *outcomes;		/* one per expectation */
	int			failed;			/* error-severity expectations that failed */
	int			warned;			/* warn-severity expectations that failed */
	int			scans;			/* queries that read the relation */
	char	   *failures;		/* the names of the failed ones, or NULL */
} Audit;

/*
 * Checks the expectations attached to `target` (a quoted qualified name) on relid: the relation
 * itself, or the new data about to replace published_relid (InvalidOid when nothing is
 * published); batch_since, when valid, restricts them to the rows the current transaction wrote
 * since it assigned that transaction id (a batch: see sluice._written_in_batch).  Their results
 * go with run.  Returns false when an error-severity expectation failed: the data must not be
 * published.
 */
extern bool audit_relation(const char *target, Oid relid, Oid published_relid, TransactionId batch_since,
						   RunRecord *run, Audit *audit);

/* Adds the audit's summary to the run's details, as "checks", when there was anything to check. */
extern void audit_describe(RunRecord *run, const Audit *audit);

#endif
