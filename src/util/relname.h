/*
 * relname.h: a relation's name as SQL text.
 */
#ifndef SLUICE_RELNAME_H
#define SLUICE_RELNAME_H

/* "schema.name", each part quoted when it needs to be. */
extern char *relation_quoted_name(Oid relid);

#endif
