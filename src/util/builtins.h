/*
 * util/builtins.h: PostgreSQL's utils/builtins.h for files that also use jansson.
 *
 * builtins.h declares the SQL function json_object(), which collides with jansson's
 * json_object(); the PostgreSQL one is renamed away here.  The clash goes deeper than the
 * declaration: the postgres executable's json_object symbol wins at load time, so sluice must never
 * call jansson's json_object() at all (build objects with json_loads or json_pack instead).
 */
#ifndef SLUICE_UTIL_BUILTINS_H
#define SLUICE_UTIL_BUILTINS_H

#define json_object pg_sql_json_object
#include "utils/builtins.h"
#undef json_object

#endif
