/*
 * secret.c: named credentials.  Values are readable only by sluice's C code; no role, not even
 * the one that stored a secret, can select it back.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "catalog/catalog.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_create_secret);
PG_FUNCTION_INFO_V1(sluice_drop_secret);

/* The owner of an existing secret, or InvalidOid; refuses a caller who is not a member of it. */
static Oid
secret_owner_checked(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	Oid			owner;

	catalog_exec("SELECT owner::oid FROM sluice.secret WHERE name = $1",
				 1, argtypes, values, NULL, true);
	if (SPI_processed == 0)
		return InvalidOid;
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	require_member_of_owner(owner, "secret", name);
	return owner;
}

Datum
sluice_create_secret(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			argtypes[4] = {TEXTOID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a secret needs a name and a value")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	SPI_connect();
	(void) secret_owner_checked(name);
	values[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = PointerGetDatum(PG_GETARG_TEXT_PP(1));
	if (PG_ARGISNULL(2))
		nulls[3] = 'n';
	else
		values[3] = PointerGetDatum(PG_GETARG_TEXT_PP(2));
	catalog_exec("INSERT INTO sluice.secret (name, owner, value, description)"
				 " VALUES ($1, $2::regrole, $3, $4)"
				 " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
				 " description = excluded.description, updated_at = now()",
				 4, argtypes, values, nulls, false);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
sluice_drop_secret(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};

	SPI_connect();
	if (!OidIsValid(secret_owner_checked(name)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("secret \"%s\" does not exist", name)));
	catalog_exec("DELETE FROM sluice.secret WHERE name = $1", 1, argtypes, values, NULL, false);
	SPI_finish();
	PG_RETURN_VOID();
}
