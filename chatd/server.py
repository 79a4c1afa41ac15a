"""The root nursery: the writer, the hub's sweeper, the listener and every connection.

Shutdown (SIGINT/SIGTERM or Server.stop): stop accepting, close every session
with 1001, let connections finish, then let the writer commit what is queued,
close the database and return.
"""

from __future__ import annotations

import gc
import logging
import signal
import sqlite3
import time
import trio

from . import __version__
from .config import Config
from .core.context import Context
from .core.delivery import Delivery
from .errors import CLOSE_ACCOUNT, CLOSE_GOING_AWAY, ChatError
from .handlers import HANDLERS, Call, load_all
from .http.app import HttpApp
from .http.bridge import HttpBridge
from .net.hub import Hub
from .protocol.envelope import JSON, MSGPACK, Codec, error_body, ok_body
from .services import Services
from .net.session import Session, TokenBucket
from .store import conversations as conv_store
from .store import schema
from .store import users as users_store
from .store.db import connect
from .store.readers import Readers
from .store.writer import Writer
from .net.transport import TEXT, Connection, Listener

log = logging.getLogger("chatd.server")
load_all()


def prepare_database(cfg: Config) -> tuple[int, int]:
    """Create the data directory and migrate the database. Returns (schema version before, users)."""
    cfg.data_path.mkdir(parents=True, exist_ok=True)
    conn = connect(cfg.db_path, durability=cfg.storage.durability)
    try:
        before = schema.migrate(conn)
        return before, users_store.count_users(conn)
    finally:
        conn.close()


class Server:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.codec = Codec()
        self.hub = Hub(cfg.server.heartbeat_timeout_s, cfg.server.login_timeout_s)
        self.writer = Writer(
            str(cfg.db_path),
            durability=cfg.storage.durability,
            batch_max=cfg.storage.batch_max,
            queue_max=cfg.storage.queue_max,
            cache_mb=cfg.storage.cache_mb,
        )
        self.readers = Readers(str(cfg.db_path), size=cfg.storage.reader_threads, cache_mb=cfg.storage.cache_mb)
        self.http = HttpBridge(HttpApp(self))
        self.services = Services(self.hub, self.readers, self.writer, cfg.auth)
        self.delivery = Delivery(self.hub, self.services, lambda conv_id: self.writer.read_now(conv_store.member_ids, conv_id))
        self.writer.after_commit = self.delivery.after_commit
        self.ctx = Context(cfg, self.hub, self.readers, self.writer, self.services, self.delivery)
        self.listener: Listener | None = None
        self.user_count = 0
        self._stop = trio.Event()
        self.started_at = 0.0

    # -- lifecycle ------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def urls(self) -> list[str]:
        assert self.listener is not None
        return [self.listener.url("http"), self.listener.url("ws")]

    async def run(self, *, task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED) -> None:
        self.started_at = time.monotonic()
        _, self.user_count = await trio.to_thread.run_sync(prepare_database, self.cfg)
        await trio.to_thread.run_sync(self.readers.open)
        host, port = self.cfg.listen_host_port
        s = self.cfg.server
        self.listener = Listener(
            host,
            port,
            on_websocket=self._serve_websocket,
            on_http=self.http.serve,
            max_frame_bytes=s.max_frame_bytes,
            backlog_max=s.backlog_max_bytes,
            head_timeout_s=s.login_timeout_s,
            cork=self.hub.cork,
            allowed_origins=s.allowed_origins,
            trusted_proxies=s.trusted_proxies,
        )
        try:
            async with trio.open_nursery() as root:
                await root.start(self.writer.run)
                async with trio.open_nursery() as serving:
                    await serving.start(self.hub.sweep)
                    await self.services.start(serving)
                    await serving.start(self.listener.serve, serving, serving)
                    # Objects made during start-up live for the whole run: keep the collector off them.
                    gc.collect()
                    gc.freeze()
                    task_status.started(self)
                    await self._stop.wait()
                    log.info("shutting down")
                    self.listener.stop()
                    for session in self.hub.all_sessions():
                        session.conn.close(CLOSE_GOING_AWAY, "server shutting down")
                    await self.http.shutdown()
                    serving.cancel_scope.deadline = trio.current_time() + s.shutdown_grace_s
                    # Connections end as their peers answer the close; then nothing else is left here.
                    await self._wait_connections_gone()
                    serving.cancel_scope.cancel()
                self.writer.close()
            self.delivery.flush()
        finally:
            self.listener.stop()
            self.readers.close()
            log.info("stopped")

    async def _wait_connections_gone(self) -> None:
        while self.hub.all_sessions():
            await trio.sleep(0.01)

    async def run_until_signal(self, *, task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        self.stop()
                        return

            nursery.start_soon(watch_signals)
            await nursery.start(self.run)
            task_status.started(self)
            # run() returns after stop(); then nothing is left to watch.
            await self._stop.wait()
            nursery.cancel_scope.deadline = trio.current_time() + self.cfg.server.shutdown_grace_s + 30

    # -- connections ----------------------------------------------------------------

    async def _serve_websocket(self, conn: Connection) -> None:
        lim = self.cfg.limits
        session = Session(conn, TokenBucket(lim.send_rate_per_s, lim.send_burst))
        conn.session = session
        self.hub.pending.add(session)
        try:
            await conn.serve(self._on_message)
        except Exception:  # noqa: BLE001 - a bug ends this connection, never the server
            log.exception("connection %s failed", conn.peer)
        finally:
            if self.hub.remove(session):
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    try:
                        await self.services.user_presence.announce(session.user_id, False)
                    except (ChatError, sqlite3.Error):
                        pass

    async def _on_message(self, conn: Connection, payload: bytes, opcode: int) -> None:
        session: Session = conn.session
        session.last_frame = time.monotonic()
        codec = JSON if opcode == TEXT else MSGPACK
        hub = self.hub
        try:
            req = self.codec.decode(payload, codec)
        except ChatError as err:
            hub.reply(session, error_body(getattr(err, "cmd", None), getattr(err, "req_id", None), err), codec)
            return
        except Exception:  # noqa: BLE001 - an undecodable frame fails alone
            log.exception("decoding a frame failed")
            hub.reply(session, error_body(None, None, ChatError("bad_frame", "the frame could not be decoded")), codec)
            return
        if session.user is None and req.cmd != "login":
            err = ChatError("not_logged_in", "log in first: the first frame must be login")
            hub.reply(session, error_body(req.cmd, req.id, err), codec)
            return
        call = Call(self.ctx, session, req.cmd, req.id, req.data, codec)
        try:
            try:
                data = await HANDLERS[req.cmd](call)
            except ChatError as err:
                hub.reply(session, error_body(req.cmd, req.id, err), codec)
                if err.code == "user_disabled" and session.user is not None:
                    session.conn.close(CLOSE_ACCOUNT, "account disabled")
                return
            except Exception:  # noqa: BLE001 - a bug fails this command only
                log.exception("handler %s failed", req.cmd)
                hub.reply(session, error_body(req.cmd, req.id, ChatError("internal", "the server failed on this command")), codec)
                return
            hub.reply(session, ok_body(req.cmd, req.id, data), codec)
        finally:
            # The pushes of this request's write, when it was the only one in its batch: they
            # follow its response (chatd.core.delivery).
            self.delivery.flush()
        if call.effects:  # pushes of a request that wrote nothing (typing, a delivery receipt)
            self.delivery.apply(call.effects, session)


def info_line(server: Server) -> list[str]:
    lines = [f"chatd {__version__} listening on {url}" for url in server.urls]
    lines.append(f"database: {server.cfg.db_path} (durability {server.cfg.storage.durability})")
    if server.user_count == 0:
        lines.append("no users yet: create the first admin with `chatd user add NAME --admin`")
    return lines

