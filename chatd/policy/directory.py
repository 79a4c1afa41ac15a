"""Who may do what in the enterprise directory (docs/directory.md). Pure: no trio, no sqlite3.

Every user may read it (the department tree, the members, the search). Writing it (departments,
members) is for server administrators and for users given the directory-admin role
(`chatd directory admin NAME`); the CSV import and the LDAP sync run as the server itself.
"""

from __future__ import annotations

from ..errors import ChatError

WRITES = frozenset(
    {
        "enterprise_department_create",
        "enterprise_department_update",
        "enterprise_department_delete",
        "enterprise_member_upsert",
        "enterprise_member_remove",
    }
)


def may_write(is_admin: bool, is_directory_admin: bool) -> bool:
    return is_admin or is_directory_admin


def require_write(is_admin: bool, is_directory_admin: bool) -> None:
    """Raises forbidden unless the user may change the directory."""
    if not may_write(is_admin, is_directory_admin):
        raise ChatError("forbidden", "only server administrators and directory administrators change the directory")


def may_read(logged_in: bool = True) -> bool:
    """Every logged-in user reads the directory."""
    return logged_in
