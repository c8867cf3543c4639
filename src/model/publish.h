/*
 * publish.h: putting a model's new relation in place without making readers wait long.
 *
 * A table model is rebuilt into a shadow heap while readers go on reading the old rows, then the
 * shadow's storage is swapped in (as CLUSTER and REFRESH MATERIALIZED VIEW swap theirs): the
 * table keeps its OID, so its grants, comments, indexes and the views users built on it stay.
 * The exclusive lock the swap needs is waited for in short turns, so a long dashboard query
 * delays a publish instead of every dashboard queueing behind the publish.
 */
#ifndef SLUICE_PUBLISH_H
#define SLUICE_PUBLISH_H

/*
 * Makes an empty shadow of table relid for the new rows and returns its quoted name; readers go
 * on reading relid, writers wait.  The current user must own the table; `model` names it in errors.
 */
extern char *publish_shadow(Oid relid, const char *model, Oid *shadow);

/* Swaps the filled shadow's storage into relid (taking the lock with publish_lock). */
extern void publish_swap(Oid relid, Oid shadow, const char *model);

/*
 * Takes AccessExclusiveLock on relid, waiting in line sluice.publish_lock_timeout at a time and
 * stepping aside in between, for sluice.publish_timeout in all.
 */
extern void publish_lock(Oid relid, const char *model);

#endif
