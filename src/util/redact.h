/*
 * redact.h: keeping secret values out of messages.
 */
#ifndef SLUICE_REDACT_H
#define SLUICE_REDACT_H

#include "nodes/pg_list.h"

/* text with every occurrence of each value in secrets (a List of char *) replaced. */
extern char *redact_secrets(const char *text, List *secrets);

#endif
