/*
 * role.c: identity switching and ownership checks.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "util/role.h"

void
role_switch_enter(RoleSwitch *rs, Oid role, bool restricted, const char *search_path)
{
	int			sec;

	GetUserIdAndSecContext(&rs->saved_user, &rs->saved_sec_context);
	sec = rs->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE;
	if (restricted)
		sec |= SECURITY_RESTRICTED_OPERATION;
	SetUserIdAndSecContext(role, sec);

	rs->guc_nest_level = NewGUCNestLevel();
	if (search_path != NULL)
		(void) set_config_option("search_path", search_path, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

void
role_switch_exit(RoleSwitch *rs)
{
	AtEOXact_GUC(false, rs->guc_nest_level);
	SetUserIdAndSecContext(rs->saved_user, rs->saved_sec_context);
}

Oid
sluice_catalog_owner(void)
{
	Oid			nsp = get_namespace_oid("sluice", false);
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema sluice");
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

void
require_member_of_owner(Oid owner, const char *kind, const char *name)
{
	char	   *owner_name;

	if (is_member_of_role(GetUserId(), owner))
		return;
	owner_name = GetUserNameFromId(owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for %s \"%s\"", kind, name),
			 owner_name ? errhint("Only members of role \"%s\" may run it.", owner_name)
			 : errhint("Its owner role no longer exists; redefine it.")));
}
