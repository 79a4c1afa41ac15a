"""The `chatd` command: serve, user and bot management, backup, restore, export, the directory (chatd.cli_directory), migrate to PostgreSQL (chatd.cli_migrate), config check. No logic of its own."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sqlite3
import sys
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

from . import __version__, cli_directory, cli_migrate
from .config import Config, ConfigError, load
from .errors import ChatError
from .store.files import StartupError
from .store.schema import LATEST, SchemaTooNew


def _flags(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    server: dict[str, Any] = {}
    if getattr(args, "data", None):
        server["data_dir"] = args.data
    if getattr(args, "listen", None):
        server["listen"] = args.listen
    return {"server": server} if server else {}


def _config(args: argparse.Namespace) -> Config:
    try:
        return load(args.config, flags=_flags(args))
    except ConfigError as exc:
        problems = str(exc).splitlines()
        if len(problems) == 1:
            print(f"chatd: bad configuration: {problems[0]}", file=sys.stderr)
        else:
            print(f"chatd: bad configuration ({len(problems)} problems):", *(f"  {p}" for p in problems), sep="\n", file=sys.stderr)
        raise SystemExit(2) from None


def _read_password(confirm: bool) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Repeat password: ") != password:
            print("chatd: the passwords differ", file=sys.stderr)
            raise SystemExit(1)
    if len(password) < 8:
        print("chatd: the password must have at least 8 characters", file=sys.stderr)
        raise SystemExit(1)
    return password


def cmd_serve(args: argparse.Namespace) -> int:
    import trio

    from .passwords import return_hash_memory
    from .server import Server, info_line, raise_fd_limit

    cfg = _config(args)
    from .logs import configure

    configure(cfg.log)
    fd_limit = raise_fd_limit()
    return_hash_memory()
    server = Server(cfg)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run_until_signal)
            if fd_limit is not None:  # once started: a start that fails says one line only
                logging.getLogger("chatd.server").info("open files limit: %d", fd_limit)
            for line in info_line(server):
                print(line, flush=True)
            token = await server.http.asgi_app.setup.issue()
            if token is not None:  # chatd.http.setup: the first visitor creates the administrator
                print(f"no administrator yet: open {server.urls[0]}/ in a browser and enter the setup token {token}", flush=True)

    try:
        trio.run(main)
    except BaseException as exc:  # noqa: BLE001 - start-up failures become one clear line
        reason = _startup_failure(exc)
        if reason is None:
            raise
        if isinstance(reason, OSError) and reason.errno == errno.EADDRINUSE:
            reason = f"the address {cfg.server.listen} is already in use: another chatd serve, or another program, listens there (stop it, or give another address with --listen or server.listen)"
        print(f"chatd: cannot start: {reason}", file=sys.stderr)
        return 1
    return 0


def _startup_failure(exc: BaseException) -> BaseException | None:
    """The address-in-use, data-directory or database error inside what trio raised, if that is all it was."""
    if isinstance(exc, (OSError, SchemaTooNew, StartupError)):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        leaves = [_startup_failure(e) for e in exc.exceptions]
        if leaves and all(leaves):
            return leaves[0]
    return None


def _db(cfg: Config) -> Any:
    from .server import prepare_database
    from .store.db import connect

    try:
        prepare_database(cfg)
    except (SchemaTooNew, StartupError) as exc:
        print(f"chatd: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except sqlite3.Error as exc:  # not a database, or one SQLite cannot read
        print(f"chatd: cannot use the database {cfg.db_path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if cfg.storage.database:
        from .store import pg_open

        return pg_open.connect(cfg.storage.database)
    return connect(cfg.db_path)


def _sqlite_only(cfg: Config, what: str) -> bool:
    """True (and says why) when the data is in PostgreSQL, where `what` does not apply."""
    if cfg.storage.database:
        print(f"chatd: {what} works on the SQLite file; this server's data is in PostgreSQL (storage.database): use pg_dump and pg_restore (docs/scaling.md)", file=sys.stderr)
    return bool(cfg.storage.database)


def _on_database(args: argparse.Namespace, act: Callable[[Config, Any], None]) -> int:
    """Run act(config, connection) on the database, as one clear line when it cannot be done:
    exit 2 when what the command names cannot be used (a bad configuration or data directory,
    a database newer than this chatd, a user or bot that does not exist), 1 when it is refused
    (a name taken, a short password)."""
    cfg = _config(args)
    conn = _db(cfg)
    try:
        act(cfg, conn)
    except ChatError as exc:
        print(f"chatd: {exc.message}", file=sys.stderr)
        return 2 if exc.code == "not_found" else 1
    except sqlite3.Error as exc:
        print(f"chatd: the database {cfg.db_path} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    return _on_database(args, lambda cfg, conn: _user(args, cfg, conn))


def _user(args: argparse.Namespace, cfg: Config, conn: Any) -> None:
    from .passwords import hash_password
    from .store import users

    if args.user_cmd == "add":
        password = _read_password(confirm=True)
        uid = users.create_user(conn, args.name, hash_password(password, cfg.auth), is_admin=args.admin, display_name=args.display_name)
        print(f"created user {args.name} (id {uid}{', admin' if args.admin else ''})")
    elif args.user_cmd == "passwd":
        password = _read_password(confirm=True)
        users.set_password(conn, args.name, hash_password(password, cfg.auth))
        print(f"password of {args.name} changed; its sessions must log in again")
    elif args.user_cmd == "list":
        rows = users.list_users(conn)
        print(f"{'id':>5}  {'name':<24} {'admin':<5} {'disabled':<8}")
        for u in rows:
            print(f"{u['id']:>5}  {u['name']:<24} {'yes' if u['is_admin'] else '':<5} {'yes' if u['disabled'] else '':<8}")
    elif args.user_cmd in ("disable", "enable"):
        users.set_disabled(conn, args.name, args.user_cmd == "disable")
        print(f"user {args.name} {args.user_cmd}d")


@contextlib.contextmanager
def _transaction(conn: Any) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def cmd_bot(args: argparse.Namespace) -> int:
    return _on_database(args, lambda cfg, conn: _bot(args, conn))


def _bot(args: argparse.Namespace, conn: Any) -> None:
    import secrets

    from .store import users

    token = secrets.token_urlsafe(32)
    if args.bot_cmd == "add":
        with _transaction(conn):
            uid = users.create_bot(conn, args.name, args.display_name)
            users.replace_bot_token(conn, uid, token)
        print(f"created bot {args.name} (id {uid}); its token, shown only now:")
        print(token)
    elif args.bot_cmd == "token":
        with _transaction(conn):
            users.replace_bot_token(conn, users.bot_id(conn, args.name), token)
        print(f"new token of bot {args.name} (the old one no longer works), shown only now:")
        print(token)
    elif args.bot_cmd == "list":
        print(f"{'id':>5}  {'name':<24} {'disabled':<8}")
        for u in users.list_users(conn):
            if u["is_bot"]:
                print(f"{u['id']:>5}  {u['name']:<24} {'yes' if u['disabled'] else '':<8}")
    elif args.bot_cmd == "agents":
        from .store import dm_routing

        bot = users.bot_id(conn, args.name)
        if args.users or args.clear:
            with _transaction(conn):
                dm_routing.set_bot_agents(conn, bot, args.users)
        names = dm_routing.bot_agent_names(conn, bot)
        print(f"agents of bot {args.name}: {', '.join(names) if names else 'none'} (besides server admins and bots.handover_agents)")
    elif args.bot_cmd in ("disable", "enable"):
        users.bot_id(conn, args.name)
        users.set_disabled(conn, args.name, args.bot_cmd == "disable")
        print(f"bot {args.name} {args.bot_cmd}d" + (": its token no longer works; `chatd bot token` makes a new one" if args.bot_cmd == "disable" else ""))


def cmd_backup(args: argparse.Namespace) -> int:
    from .backup import BackupError, backup

    cfg = _config(args)
    if _sqlite_only(cfg, "chatd backup"):
        return 2
    try:
        manifest = backup(cfg, Path(args.dest))
    except (BackupError, OSError, sqlite3.Error) as exc:
        print(f"chatd: backup failed: {exc}", file=sys.stderr)
        return 1
    uploads = sum(1 for rel in manifest["files"] if rel.startswith("files/"))
    print(f"backup written to {args.dest}: the database (schema {manifest['schema_version']}) and {uploads} uploaded files")
    for sha in manifest["missing_uploads"]:
        print(f"chatd: warning: the uploaded file {sha} was not in {cfg.files_path} (collected or lost)", file=sys.stderr)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from .backup import BackupError, restore

    cfg = _config(args)
    if _sqlite_only(cfg, "chatd restore"):
        return 2
    try:
        kept = restore(cfg, Path(args.src), replace=args.replace)
    except (BackupError, StartupError, OSError, sqlite3.Error) as exc:
        print(f"chatd: restore refused: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.src} into {cfg.data_path}" + (f"; the database it replaced is kept as {kept}" if kept else ""))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import ExportError, export

    if _sqlite_only(_config(args), "chatd export"):
        return 2

    def act(cfg: Config, conn: Any) -> None:
        try:
            if args.output in (None, "-"):
                counts = export(conn, sys.stdout.buffer, args.user)
            else:
                fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, cfg.file_mode)  # private messages: the data's own mode
                with os.fdopen(fd, "wb") as out:
                    counts = export(conn, out, args.user)
        except ExportError as exc:
            raise ChatError("not_found", str(exc)) from None
        print(f"exported {counts[0]} conversations, {counts[1]} messages", file=sys.stderr)

    return _on_database(args, act)


def cmd_check(args: argparse.Namespace) -> int:
    """What `chatd serve` with the same configuration, variables and flags would check before
    listening, without creating or changing anything: the configuration, the data directory,
    the database's schema version."""
    from .store.snapshot import schema_version

    cfg = _config(args)
    problems: list[str] = []
    data, db = cfg.data_path, cfg.db_path
    existing = next((p for p in (data, *data.parents) if p.exists()), None)
    if data.exists() and not data.is_dir():
        problems.append(f"the data directory {data} exists but is not a directory")
    elif existing is not None and existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        problems.append(f"the data directory {data} cannot be {'written' if existing == data else 'created'}: {existing} is not writable by this user")
    files = cfg.files_path
    near = next((p for p in (files, *files.parents) if p.exists()), None)
    if cfg.files.directory and near is not None and (not near.is_dir() or not os.access(near, os.W_OK | os.X_OK)):
        problems.append(f"files.directory {files} cannot be written or created by this user")
    schema = "will be created"
    if cfg.storage.database:
        if files.is_relative_to(data):
            print(f"chatd: warning: uploaded files are kept in {files}, in this node's data directory: with several nodes on one database, "
                  "set files.directory to a directory they all share, or a file uploaded through one node is not found through another (docs/scaling.md)", file=sys.stderr)
        db, schema = _check_postgresql(cfg, problems)
    elif db.exists():
        if not db.is_file():
            problems.append(f"the database {db} is not a file")
        elif not os.access(db, os.R_OK | os.W_OK):
            problems.append(f"the database {db} cannot be read and written by this user")
        else:
            try:
                version = schema_version(db)
            except sqlite3.Error as exc:
                problems.append(f"the database {db} cannot be read: {exc}")
            else:
                if version > LATEST:
                    problems.append(f"the database {db} is at schema version {version}, newer than this chatd ({LATEST}): run the newer chatd")
                schema = f"schema {version}" + (f", will be migrated to {LATEST}" if version < LATEST else "")
    for problem in problems:
        print(f"chatd: {problem}", file=sys.stderr)
    if problems:
        return 2
    print(f"configuration is valid; listen {cfg.server.listen}, database {db} ({schema})")
    return 0


def _check_postgresql(cfg: Config, problems: list[str]) -> tuple[Any, str]:
    """`chatd check` with storage.database: (where, its schema) and what is wrong with it."""
    from .store import pg_open, pg_schema

    where = pg_open.where(cfg.storage.database)
    try:
        conn = pg_open.connect(cfg.storage.database)
    except StartupError as exc:
        problems.append(str(exc))
        return where, "unknown"
    try:
        version = pg_schema.version(conn.raw)
    finally:
        conn.close()
    if version is None:
        return where, "will be created"
    if version > LATEST:
        problems.append(f"{where} is at schema version {version}, newer than this chatd ({LATEST}): run the newer chatd")
    return where, f"schema {version}" + (f", will be upgraded to {LATEST} in place" if version < LATEST else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatd", description="A self-hosted chat server.")
    parser.add_argument("--version", action="version", version=f"chatd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="FILE", help="TOML config file (default: none; CHATD_CONFIG also works)")
        p.add_argument("--data", metavar="DIR", help="data directory (overrides server.data_dir)")

    serve = sub.add_parser("serve", help="run the server")
    common(serve)
    serve.add_argument("--listen", metavar="HOST:PORT", help="address for HTTP and WebSocket (overrides server.listen)")
    serve.set_defaults(func=cmd_serve)

    def named(group: Any, cmd: str, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(cmd, help=help)
        common(p)
        p.add_argument("name")
        return p

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_cmd", required=True)
    add = named(user_sub, "add", "create a user; the password is read from a prompt or stdin")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.add_argument("--display-name", help="shown name (default: NAME)")
    named(user_sub, "passwd", "set a user's password (prompt or stdin)")
    common(user_sub.add_parser("list", help="list users"))
    named(user_sub, "disable", "disable a user and end their tokens")
    named(user_sub, "enable", "enable a disabled user")
    user.set_defaults(func=cmd_user)

    bot = sub.add_parser("bot", help="manage bot accounts (docs/bots.md)")
    bot_sub = bot.add_subparsers(dest="bot_cmd", required=True)
    named(bot_sub, "add", "create a bot and print its token").add_argument("--display-name", help="shown name (default: NAME)")
    named(bot_sub, "token", "give a bot a new token; the old one stops working")
    named(bot_sub, "disable", "disable a bot and end its token")
    named(bot_sub, "enable", "enable a disabled bot (then give it a token)")
    common(bot_sub.add_parser("list", help="list bots"))
    agents = named(bot_sub, "agents", "show, or with USER names set, who may take over the bot's DMs (docs/bots.md, Handover)")
    agents.add_argument("users", nargs="*", metavar="USER", help="the bot's agents from now on (replacing its list)")
    agents.add_argument("--clear", action="store_true", help="the bot has no agents of its own")
    bot.set_defaults(func=cmd_bot)

    backup = sub.add_parser("backup", help="copy the database and uploaded files into DEST, with the server running")
    common(backup)
    backup.add_argument("dest", metavar="DEST", help="a new or empty directory")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="put a backup in the data directory (the server must be stopped)")
    common(restore)
    restore.add_argument("src", metavar="SRC", help="a directory written by chatd backup")
    restore.add_argument("--replace", action="store_true", help="replace an existing database (it is kept beside)")
    restore.set_defaults(func=cmd_restore)

    export = sub.add_parser("export", help="write the messages of the server, or of one user, as JSON")
    common(export)
    export.add_argument("--user", metavar="NAME", help="only the conversations of this user, and their messages elsewhere")
    export.add_argument("-o", "--output", metavar="FILE", help="where to write (default: standard output)")
    export.set_defaults(func=cmd_export)

    cli_directory.add_parser(sub, common)
    cli_migrate.add_parser(sub, common)

    check = sub.add_parser("check", help="check what serve would: the configuration, the data directory, the database; exit 2 if one is bad")
    common(check)
    check.add_argument("--listen", metavar="HOST:PORT", help="as for serve")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
