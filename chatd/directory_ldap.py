"""Reading the directory from LDAP or Active Directory with ldap3 ([directory] in the config;
docs/directory.md). Blocking: the server runs these in a worker thread under a deadline
(chatd.services.directory_sync); every LDAP call has its own (`directory.ldap_timeout_s`).

People are identified by `directory.ldap_id_attribute` (entryUUID on OpenLDAP, objectGUID on
Active Directory), never by DN or email. A person's departments are the OUs between their entry
and the base DN (`uid=zs,ou=Backend,ou=Engineering,ou=people,...` under `ou=people,...` is in
Engineering/Backend), or the values of `directory.attr_department` when set. Entries matching
`directory.ldap_disabled_filter` count as gone: they leave.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from .store.directory_import import Person

if TYPE_CHECKING:
    from .config import DirectoryConfig

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
PAGE = 500


class LdapError(Exception):
    """The server is down, slow, refused the bind, or answered something unusable."""


def _password(cfg: DirectoryConfig) -> str:
    if not cfg.ldap_bind_password_file:
        return ""
    try:
        return Path(cfg.ldap_bind_password_file).read_text().strip("\r\n")
    except OSError as exc:
        raise LdapError(f"cannot read directory.ldap_bind_password_file: {exc.strerror}") from None


def _connect(cfg: DirectoryConfig, user: str | None, password: str) -> ldap3.Connection:
    server = ldap3.Server(cfg.ldap_url.rstrip("/"), connect_timeout=cfg.ldap_timeout_s, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=user or None, password=password or None, receive_timeout=cfg.ldap_timeout_s, raise_exceptions=True, read_only=True)
    conn.open()
    conn.bind()
    return conn


def _first(attrs: dict[str, Any], name: str) -> str:
    if not name:
        return ""
    value = attrs.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


def _all(attrs: dict[str, Any], name: str) -> list[str]:
    value = attrs.get(name) if name else None
    if value is None:
        return []
    return [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


def _dn_path(dn: str, base: str) -> tuple[str, ...]:
    """The OU names between an entry and the base DN, from the top."""
    rdns = parse_dn(dn, escape=False)
    base_len = len(parse_dn(base, escape=False))
    between = rdns[1 : len(rdns) - base_len]
    return tuple(value for attr, value, _ in reversed(between) if attr.lower() == "ou")


def _filter(cfg: DirectoryConfig) -> str:
    if cfg.ldap_disabled_filter:
        return f"(&{cfg.ldap_people_filter}(!{cfg.ldap_disabled_filter}))"
    return cfg.ldap_people_filter


def _attributes(cfg: DirectoryConfig) -> list[str]:
    names = [cfg.ldap_id_attribute, cfg.attr_username, cfg.attr_name, cfg.attr_title, cfg.attr_email, cfg.attr_phone, cfg.attr_employee_no, cfg.attr_manager, cfg.attr_department]
    return list(dict.fromkeys(n for n in names if n))


def fetch(cfg: DirectoryConfig) -> tuple[list[Person], list[str], frozenset[str]]:
    """Everyone the configured searches find (but disabled accounts); the entries skipped, with
    why; and the ids of those skipped (they are still there upstream: they do not leave).
    Raises LdapError."""
    try:
        conn = _connect(cfg, cfg.ldap_bind_dn, _password(cfg))
        try:
            found: list[tuple[str, str, dict[str, Any]]] = []
            for base in cfg.ldap_base_dns:
                for entry in conn.extend.standard.paged_search(base, _filter(cfg), ldap3.SUBTREE, attributes=_attributes(cfg), paged_size=PAGE, generator=False):
                    if entry.get("type") == "searchResEntry":
                        found.append((base, entry["dn"], dict(entry["attributes"])))
        finally:
            conn.unbind()
    except LDAPException as exc:
        raise LdapError(f"{type(exc).__name__}: {exc}") from None
    return people_of(cfg, found)


def people_of(cfg: DirectoryConfig, found: list[tuple[str, str, dict[str, Any]]]) -> tuple[list[Person], list[str], frozenset[str]]:
    ids_by_dn = {dn.lower(): _first(attrs, cfg.ldap_id_attribute) for _, dn, attrs in found}
    people: list[Person] = []
    skipped: list[str] = []
    keep: set[str] = set()
    seen: set[str] = set()
    for base, dn, attrs in found:
        ext = _first(attrs, cfg.ldap_id_attribute)
        username = _first(attrs, cfg.attr_username)
        name = _first(attrs, cfg.attr_name) or username
        why = ""
        if not ext:
            why = f"no {cfg.ldap_id_attribute}"
        elif ext in seen:
            why = f"{cfg.ldap_id_attribute} {ext} found twice"
        elif not USERNAME.match(username):
            why = f"{cfg.attr_username} {username!r} is no valid username"
        if why:
            skipped.append(f"{dn}: {why}" + (f" (id {ext})" if ext else ""))
            if ext:
                keep.add(ext)
            continue
        seen.add(ext)
        if cfg.attr_department:
            departments = tuple(tuple(p.strip() for p in v.split("/") if p.strip()) for v in _all(attrs, cfg.attr_department))
        else:
            path = _dn_path(dn, base)
            departments = (path,) if path else ()
        manager_dn = _first(attrs, cfg.attr_manager)
        manager = ids_by_dn.get(manager_dn.lower()) if manager_dn else None
        people.append(
            Person(
                ext, username, name[:100], _first(attrs, cfg.attr_title)[:100], _first(attrs, cfg.attr_email)[:254], _first(attrs, cfg.attr_phone)[:40],
                _first(attrs, cfg.attr_employee_no)[:64], tuple(d for d in departments if d), manager if manager != ext else None, dn,
            )
        )
    return people, skipped, frozenset(keep)


def check_password(cfg: DirectoryConfig, username: str, password: str) -> str | None:
    """auth.ldap: the person's id when LDAP accepts this password for this username (a bind as
    their entry), else None. Raises LdapError when the server cannot answer."""
    if not password:
        return None  # an empty password would be an anonymous bind, which proves nothing
    flt = f"(&{_filter(cfg)}({cfg.attr_username}={escape_filter_chars(username)}))"
    try:
        conn = _connect(cfg, cfg.ldap_bind_dn, _password(cfg))
        try:
            hits = []
            for base in cfg.ldap_base_dns:
                conn.search(base, flt, ldap3.SUBTREE, attributes=[cfg.ldap_id_attribute], size_limit=2)
                hits += [(e["dn"], _first(dict(e["attributes"]), cfg.ldap_id_attribute)) for e in conn.response if e.get("type") == "searchResEntry"]
        finally:
            conn.unbind()
        if len(hits) != 1:
            return None
        dn, ext = hits[0]
        try:
            _connect(cfg, dn, password).unbind()
        except ldap3.core.exceptions.LDAPInvalidCredentialsResult:
            return None
        return ext or None
    except LDAPException as exc:
        raise LdapError(f"{type(exc).__name__}: {exc}") from None
