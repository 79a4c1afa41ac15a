"""`chatd migrate --to postgresql://…`: copy the SQLite database of a data directory into an
empty PostgreSQL database and check the copy (chatd.store.pg_copy, docs/scaling.md)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any


def cmd_migrate(args: argparse.Namespace) -> int:
    from .cli import _config

    cfg = _config(args)
    if not args.to.startswith(("postgresql://", "postgres://")):
        print("chatd: --to: a PostgreSQL URL, postgresql://USER@HOST:PORT/DATABASE", file=sys.stderr)
        return 2
    if not cfg.db_path.is_file():
        print(f"chatd: there is no database at {cfg.db_path}", file=sys.stderr)
        return 2
    try:
        import psycopg
    except ImportError:
        print("chatd: PostgreSQL support is not installed: pip install 'chatd[postgresql]'", file=sys.stderr)
        return 2
    from .store.pg_copy import CopyError, copy

    last: dict[str, int] = {}

    def progress(table: str, rows: int) -> None:
        if rows - last.get(table, 0) >= 100_000:
            print(f"  {table}: {rows} rows", file=sys.stderr)
            last[table] = rows

    try:
        report = copy(str(cfg.db_path), args.to, progress)
    except (CopyError, psycopg.Error, sqlite3.Error) as exc:
        print(f"chatd: migrate failed: {exc}", file=sys.stderr)
        return 1
    for table in report.tables:
        print(f"{table.name}: {table.rows} rows, checked")
    print(f"copied {report.rows} rows in {len(report.tables)} tables (schema {report.schema_version}); every table's rows checked in PostgreSQL")
    return 0


def add_parser(sub: Any, common: Any) -> None:
    migrate = sub.add_parser("migrate", help="copy the database into an empty PostgreSQL database and check the copy (docs/scaling.md)")
    common(migrate)
    migrate.add_argument("--to", required=True, metavar="URL", help="the PostgreSQL database: postgresql://USER@HOST:PORT/DATABASE (new and empty)")
    migrate.set_defaults(func=cmd_migrate)
