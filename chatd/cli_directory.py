"""`chatd directory ...`: the CSV import, the LDAP sync and the directory-admin role
(docs/directory.md). Each runs on the database from its own process; a running server closes
the connections of accounts disabled here within about a second (chatd.services.accounts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ChatError


class _Ctx:
    """What the store's write functions take outside the server's writer."""

    def __init__(self, conn: Any):
        from .store.db import now_ms

        self.conn = conn
        self.now = now_ms()


def _apply_or_show(conn: Any, people: list[Any], source: str, *, dry_run: bool, sync: tuple[list[str], frozenset[str]] | None = None) -> int:
    """Print the diff and apply it (not on a dry run) in one transaction. A CSV import (`sync`
    None) applies nothing when anything is wrong; a sync (`sync`: what the source skipped, and
    their ids) skips what is wrong, applies the rest, and makes leavers of those gone."""
    from .cli import _transaction
    from .store import directory_import

    with _transaction(conn):
        if sync is None:
            diff = directory_import.diff(conn, people, source)
        else:
            diff = directory_import.diff(conn, people, source, leavers=True, strict=False, keep=sync[1])
            diff.skipped[:0] = sync[0]
        if diff.errors:
            for e in diff.errors:
                print(f"chatd: {e}", file=sys.stderr)
            print(f"chatd: {len(diff.errors)} errors: nothing was written", file=sys.stderr)
            return 1
        for line in diff.lines():
            print(line)
        if dry_run:
            print("dry run: nothing was written")
            return 0
        directory_import.apply(_Ctx(conn), diff, source)
    print("applied" if not diff.empty() else "nothing to change")
    return 0


def _import(args: argparse.Namespace, conn: Any) -> int:
    from . import directory_csv

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"chatd: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    text, errors = directory_csv.decode(data)
    people, more = directory_csv.parse(text) if not errors else ([], [])
    errors += more
    if errors:
        for e in errors:
            print(f"chatd: {args.file}: {e}", file=sys.stderr)
        print(f"chatd: {len(errors)} errors: nothing was written", file=sys.stderr)
        return 1
    return _apply_or_show(conn, people, "csv", dry_run=args.dry_run)


def _sync(args: argparse.Namespace, cfg: Any, conn: Any) -> int:
    from .directory_ldap import LdapError, fetch

    if not cfg.directory.ldap_url:
        print("chatd: directory.ldap_url is not set: there is nothing to sync with", file=sys.stderr)
        return 1
    try:
        people, skipped, keep = fetch(cfg.directory)
    except LdapError as exc:
        print(f"chatd: LDAP: {exc}", file=sys.stderr)
        return 1
    return _apply_or_show(conn, people, "ldap", dry_run=args.dry_run, sync=(skipped, keep))


def cmd_directory(args: argparse.Namespace) -> int:
    from .cli import _config, _db

    cfg = _config(args)
    conn = _db(cfg)
    try:
        if args.directory_cmd == "import":
            return _import(args, conn)
        if args.directory_cmd == "sync":
            return _sync(args, cfg, conn)
        from .store import directory

        directory.set_directory_admin(conn, args.name, not args.revoke)
        print(f"{args.name} {'is no longer' if args.revoke else 'is now'} a directory administrator")
        return 0
    except ChatError as exc:
        print(f"chatd: {exc.message}", file=sys.stderr)
        return 2 if exc.code == "not_found" else 1  # as chatd.cli's commands: what it names does not exist
    finally:
        conn.close()


def add_parser(sub: Any, common: Any) -> None:
    directory = sub.add_parser("directory", help="the enterprise directory: CSV import, LDAP sync, its admins (docs/directory.md)")
    dsub = directory.add_subparsers(dest="directory_cmd", required=True)
    imp = dsub.add_parser("import", help="bring departments and people in from a CSV file")
    common(imp)
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    sync = dsub.add_parser("sync", help="bring the directory in step with LDAP once ([directory] in the config)")
    common(sync)
    sync.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    admin = dsub.add_parser("admin", help="give a user the directory-admin role (or take it back)")
    common(admin)
    admin.add_argument("name")
    admin.add_argument("--revoke", action="store_true", help="take the role back")
    directory.set_defaults(func=cmd_directory)
