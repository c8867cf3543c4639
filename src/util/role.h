/*
 * role.h: run a stretch of code as another role, as REFRESH MATERIALIZED VIEW does for its owner.
 */
#ifndef SLUICE_ROLE_H
#define SLUICE_ROLE_H

typedef struct RoleSwitch
{
	Oid			saved_user;
	int			saved_sec_context;
	int			guc_nest_level;
} RoleSwitch;

/*
 * Become `role` until role_switch_exit.  `restricted` forbids what a user's SQL must not do while
 * borrowing another identity (SET ROLE, temporary objects); `search_path`, when not NULL, is
 * pinned for the stretch.  An error inside the stretch is undone by the (sub)transaction abort.
 */
extern void role_switch_enter(RoleSwitch *rs, Oid role, bool restricted, const char *search_path);
extern void role_switch_exit(RoleSwitch *rs);

/* The owner of the sluice schema: the role that owns the catalog. */
extern Oid	sluice_catalog_owner(void);

/* Error unless the current user is a member of `owner`; `kind` and `name` name the definition. */
extern void require_member_of_owner(Oid owner, const char *kind, const char *name);

#endif
