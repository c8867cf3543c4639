/*
 * util/builtins.h: PostgreSQL's utils/builtins.h for files that also use jansson.
 *
 * builtins.h declares the SQL function json_object(), which collides with jansson's
 * json_object(); the PostgreSQL one is renamed away here, sluice never calls it.
 */
#ifndef SLUICE_UTIL_BUILTINS_H
#define SLUICE_UTIL_BUILTINS_H

#define json_object pg_sql_json_object
#include "utils/builtins.h"
#undef json_object

#endif
