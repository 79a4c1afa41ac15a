"""The `chatd` command: serve, user and bot management, the directory (chatd.cli_directory), config check. No logic of its own."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

from . import __version__, cli_directory
from .config import Config, ConfigError, load
from .store.files import StartupError
from .store.schema import SchemaTooNew


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
        print(f"chatd: bad configuration: {exc}", file=sys.stderr)
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
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
        raise SystemExit(1) from None
    return connect(cfg.db_path)


def _on_database(args: argparse.Namespace, act: Callable[[Config, Any], None]) -> int:
    """Run act(config, connection) on the database; a refusal (ChatError) is exit code 1."""
    from .errors import ChatError

    cfg = _config(args)
    conn = _db(cfg)
    try:
        act(cfg, conn)
    except ChatError as exc:
        print(f"chatd: {exc.message}", file=sys.stderr)
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
    elif args.bot_cmd in ("disable", "enable"):
        users.bot_id(conn, args.name)
        users.set_disabled(conn, args.name, args.bot_cmd == "disable")
        print(f"bot {args.name} {args.bot_cmd}d" + (": its token no longer works; `chatd bot token` makes a new one" if args.bot_cmd == "disable" else ""))


def cmd_check(args: argparse.Namespace) -> int:
    cfg = _config(args)
    print(f"configuration is valid; listen {cfg.server.listen}, database {cfg.db_path}")
    return 0


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
    bot.set_defaults(func=cmd_bot)

    cli_directory.add_parser(sub, common)

    check = sub.add_parser("check", help="validate the configuration; exit 2 if it is bad")
    common(check)
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
