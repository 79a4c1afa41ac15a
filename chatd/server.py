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
from typing import Any
import trio

from . import __version__
from .config import Config
from .core.context import Context
from .core.delivery import Delivery
from .errors import CLOSE_ACCOUNT, CLOSE_BACKLOG, CLOSE_GOING_AWAY, ChatError
from .handlers import HANDLERS, Call, load_all
from .http.app import HttpApp
from .services import file_gc
from .http.metrics import PATH as METRICS_PATH
from .http.metrics import MetricsEndpoint
from .http.side import HttpSide
from . import logs, systemd
from .logs import MODERATION, LimitLog
from .metrics import Metrics
from .net.hub import Hub
from .protocol.envelope import JSON, MSGPACK, Codec, error_body, ok_body
from .services import Services
from .net.session import Session, TokenBucket, UserBuckets
from .protocol.requests import COSTS as REQUEST_COSTS
from .handlers.calls import RELAYED
from .store import messages as msg_store
from .store import schema
from .store import users as users_store
from .store.db import connect
from .store.files import DataDirLock, StartupError, is_write_failure, make_data_dir, make_private_file, write_probe
from .store.readers import Readers
from .store.writer import Writer
from .net.connection import TEXT, Connection, close_of
from .net.listener import Listener

log = logging.getLogger("chatd.server")
load_all()

# What each request takes from the user's write budget (clients/protocol.yaml `cost:`; the
# registry refuses an implemented request without one). Requests of cost 0 are left out.
COSTS: dict[str, int] = {wire: cost for wire, cost in REQUEST_COSTS.items() if cost}


def prepare_database(cfg: Config, *, check_write: bool = False) -> tuple[int, int]:
    """Create the data directory and migrate the database. Returns (schema version before, users).

    The directory gets storage.dir_mode and a new database file storage.file_mode (SQLite
    gives its -wal and -shm files the same mode). With check_write, one small write is
    committed: a database that cannot be written is refused here, not at the first login.
    Raises StartupError (or SchemaTooNew) with a message for the operator."""
    make_data_dir(cfg.data_path, cfg.dir_mode)
    return open_database(cfg, check_write=check_write)


def open_database(cfg: Config, *, check_write: bool = False) -> tuple[int, int]:
    if cfg.storage.database:  # PostgreSQL (docs/scaling.md)
        from .store import pg_open

        return pg_open.open_database(cfg, check_write=check_write)
    path = cfg.db_path
    if path.exists() and not path.is_file():
        raise StartupError(f"the database {path} is not a file")
    make_private_file(path, cfg.file_mode, what="database")
    try:
        conn = connect(path, durability=cfg.storage.durability)
    except sqlite3.Error as exc:
        raise StartupError(f"cannot open the database {path}: {exc}") from None
    try:
        try:
            before = schema.migrate(conn)
            if cfg.limits.user_storage_bytes:  # counted only while a quota is set: count afresh
                with conn:
                    msg_store.recount_stored(conn)
            if check_write:  # the server's own start, holding the data directory's lock
                write_probe(conn)
                if ended := msg_store.end_unfinished_streams(conn):
                    log.warning("%d streamed messages were still streaming when the server stopped: they end as errors", ended)
            return before, users_store.count_users(conn)
        except sqlite3.Error as exc:
            if is_write_failure(exc):
                raise StartupError(f"the database {path} cannot be written: {exc}") from None
            raise
    finally:
        conn.close()


def raise_fd_limit() -> int | None:
    """Raise the soft limit on open descriptors to the hard limit, so the server runs out of
    descriptors as late as the system allows. Returns the limit now in force (None: unknown)."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
            target = hard
            if target == resource.RLIM_INFINITY:
                target = 1 << 20  # an unlimited hard limit is refused as a soft one on some systems
            if soft == resource.RLIM_INFINITY or soft < target:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ValueError, OSError) as exc:
        log.warning("cannot raise the limit on open files: %s", exc)
        return None


def start_files(cfg: Config) -> tuple[DataDirLock, int]:
    """For `chatd serve`: the data directory, its lock (one server per directory), a writable database.

    Returns the lock, to hold for the server's life, and the number of users."""
    make_data_dir(cfg.data_path, cfg.dir_mode)
    lock = DataDirLock.acquire(cfg.data_path, cfg.file_mode)
    try:
        _, users = open_database(cfg, check_write=True)
    except BaseException:
        lock.release()
        raise
    return lock, users


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
            dsn=cfg.storage.database,
            node=cfg.storage.node if cfg.storage.database else None,
        )
        self.readers = Readers(str(cfg.db_path), size=cfg.storage.reader_threads, cache_mb=cfg.storage.cache_mb, dsn=cfg.storage.database)
        self.files_lock = trio.Lock()  # uploads finishing and the collector of files (chatd.services.file_gc)
        self.http = HttpSide(HttpApp(self), body_timeout_s=cfg.server.http_body_timeout_s, body_min_bytes_per_s=cfg.server.http_body_min_bytes_per_s, keepalive_timeout_s=cfg.server.http_keepalive_timeout_s, http2=cfg.server.http2)
        self.services = Services(self.hub, self.readers, self.writer, cfg)
        self.delivery = Delivery(self.hub, self.services, self.writer.read_now, load_at_commit=cfg.storage.durability == "full")
        sv = self.services
        sv.calls.apply = sv.mesh.apply = sv.streams.apply = lambda effects: self.delivery.apply(effects, None)
        sv.streams.sessions = self.delivery.sessions
        self.writer.on_commit = self.delivery.on_commit
        self.cluster: Any = None
        self.session_prefix = "s"
        if cfg.storage.database:  # the nodes sharing the database hear of each other's writes
            from .services.cluster import Cluster  # psycopg: only with PostgreSQL

            self.cluster = Cluster(cfg.storage.database, cfg.storage.node, self.readers, self.writer, self.delivery, sv.members)
            self.writer.before_commit = self.cluster.before_commit
            self.delivery.shared = self.cluster.share
            self.session_prefix = f"n{cfg.storage.node}s"
            sv.across_nodes(cfg.storage.node, self.cluster.asks, self.cluster.share)
        self.writer.after_commit = self.delivery.after_commit
        self.metrics = Metrics()
        sv.push.counted = self.metrics.push_delivery
        self.limit_log = LimitLog(logging.getLogger("chatd.limits"))
        self.ctx = Context(cfg, self.hub, self.readers, self.writer, self.services, self.delivery, self.metrics)
        lim = cfg.limits
        self.write_budget = UserBuckets(lim.user_write_rate_per_s, lim.user_write_burst)
        self.listener: Listener | None = None
        self.user_count = 0
        self._stop = trio.Event()
        self.started_at = 0.0
        self.lock: DataDirLock | None = None
        self.metrics_url = ""  # where /metrics is served, when on an address of its own

    # -- lifecycle ------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Draining: stop() was called (/readyz answers 503 from then on)."""
        return self._stop.is_set()

    @property
    def urls(self) -> list[str]:
        assert self.listener is not None
        return [self.listener.url("http"), self.listener.url("ws")]

    async def run(self, *, task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED) -> None:
        self.started_at = time.monotonic()
        self.lock, self.user_count = await trio.to_thread.run_sync(start_files, self.cfg)
        try:
            await self._run(task_status)
        finally:
            self.lock.release()

    async def _run(self, task_status: trio.TaskStatus[Server]) -> None:
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
            max_fragments=s.max_fragments,
            max_connections_per_ip=s.max_connections_per_ip,
            allowed_origins=s.allowed_origins,
            trusted_proxies=s.trusted_proxies,
        )
        try:
            async with trio.open_nursery() as root:
                await root.start(self.writer.run)
                async with trio.open_nursery() as serving:
                    await serving.start(self.hub.sweep)
                    serving.start_soon(self.writer.probe_loop, self.cfg.storage.write_probe_s)
                    if self.cfg.files.gc_after_s:
                        serving.start_soon(file_gc.run, self)
                    await self.services.start(serving)
                    if self.cluster is not None:
                        await serving.start(self.cluster.run)
                    await serving.start(self.listener.serve, serving, serving)
                    if self.cfg.metrics.enabled and self.cfg.metrics.listen:
                        bound = await serving.start(MetricsEndpoint(self).serve, self.cfg.metrics.listen)
                        self.metrics_url = bound[0] + METRICS_PATH
                    # Objects made during start-up live for the whole run: keep the collector off them.
                    gc.collect()
                    gc.freeze()
                    serving.start_soon(systemd.watchdog)
                    systemd.notify("READY=1", f"STATUS=listening on {self.listener.url('http')}")
                    task_status.started(self)
                    await self._stop.wait()
                    log.info("shutting down")
                    systemd.notify("STOPPING=1", "STATUS=draining connections")
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
        session = Session(conn, TokenBucket(lim.send_rate_per_s, lim.send_burst), TokenBucket(lim.frames_per_s, lim.frames_burst), prefix=self.session_prefix)
        conn.session = session
        self.hub.pending.add(session)
        try:
            async with trio.open_nursery() as lanes:  # holds the request lane of a connection in a call
                session.lanes = lanes
                await conn.serve(self._on_message)
                if session.lane is not None:
                    session.lane.close()
        except Exception:  # noqa: BLE001 - a bug ends this connection, never the server
            log.exception("connection %s failed", conn.peer)
        finally:
            self._closed(session)
            if self.hub.remove(session):
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    try:
                        await self.services.user_presence.announce(session.user_id, False)
                    except (ChatError, sqlite3.Error):
                        pass

    def _closed(self, session: Session) -> None:
        """One log line and one count per connection that ends: who, how long, and its close code."""
        code, reason, by = close_of(session.conn)
        self.metrics.closed(code, code == CLOSE_BACKLOG)
        user = session.user["name"] if session.user is not None else None
        duration = round(time.monotonic() - session.connected_at, 1)
        fields = {"peer": session.conn.peer, "user": user, "device": session.device, "code": code, "by": by, "reason": reason, "duration_s": duration}
        log.info(
            "connection closed: peer=%s user=%r device=%r code=%s by=%s reason=%r duration=%.1fs",
            session.conn.peer, user, session.device, code if code is not None else "none", by, reason, duration, extra={"fields": fields},
        )

    @staticmethod
    def _who(session: Session) -> str:
        return f"user {session.user['name']!r}" if session.user is not None else f"address {session.conn.peer}"

    async def _on_message(self, conn: Connection, payload: bytes, opcode: int) -> None:
        session: Session = conn.session
        session.last_frame = now = time.monotonic()
        codec = JSON if opcode == TEXT else MSGPACK
        hub = self.hub
        # Every frame, of any command, takes one from the connection's frame budget.
        frames_wait = session.frames.take(now) if session.frames is not None else 0
        try:
            req = self.codec.decode(payload, codec)
        except ChatError as err:
            hub.reply(session, error_body(getattr(err, "cmd", None), getattr(err, "req_id", None), err), codec)
            await self._over_frame_budget(frames_wait)
            return
        except Exception:  # noqa: BLE001 - an undecodable frame fails alone
            log.exception("decoding a frame failed")
            hub.reply(session, error_body(None, None, ChatError("bad_frame", "the frame could not be decoded")), codec)
            await self._over_frame_budget(frames_wait)
            return
        if frames_wait:
            self.limit_log.hit("limits.frames_per_s", self._who(session))
            err = ChatError("rate_limited", "too many frames on this connection; slow down", retry_after_ms=frames_wait)
            hub.reply(session, error_body(req.cmd, req.id, err), codec)
            await self._over_frame_budget(frames_wait)
            return
        if session.user is None and req.cmd != "login":
            err = ChatError("not_logged_in", "log in first: the first frame must be login")
            hub.reply(session, error_body(req.cmd, req.id, err), codec)
            return
        cost = COSTS.get(req.cmd)
        if cost and session.user is not None:
            # The user's write budget, shared by all their connections, taken before the handler
            # runs: a request over it does nothing.
            wait_ms = self.write_budget.take(session.user_id, cost, now)
            if wait_ms:
                self.limit_log.hit("limits.user_write_rate_per_s", self._who(session))
                err = ChatError("rate_limited", "too many requests from this user; slow down", retry_after_ms=wait_ms)
                hub.reply(session, error_body(req.cmd, req.id, err), codec)
                return
        if req.cmd not in RELAYED:
            if session.lane is None and req.cmd.startswith("rtc_"):
                self._open_lane(session)
            if session.lane is not None:
                # A connection in a call: its other requests run one after another in its lane,
                # so a relayed signal behind a slow one (a search) is not held up by it.
                await session.lane.send((req, codec, cost or 0))
                return
        await self._run_request(session, req, codec, cost or 0)

    def _open_lane(self, session: Session) -> None:
        send, receive = trio.open_memory_channel[tuple[Any, int, int]](0)
        session.lane = send

        async def lane() -> None:
            async with receive:
                async for req, codec, cost in receive:
                    await self._run_request(session, req, codec, cost)

        session.lanes.start_soon(lane)

    async def _run_request(self, session: Session, req: Any, codec: int, cost: int) -> None:
        """Run one request of a connection: its handler, its response, then its pushes."""
        hub = self.hub
        call = Call(self.ctx, session, req.cmd, req.id, req.data, codec, cost)
        started = time.perf_counter()
        try:
            try:
                data = await HANDLERS[req.cmd](call)
            except ChatError as err:
                hub.reply(session, error_body(req.cmd, req.id, err), codec)
                self.metrics.command(req.cmd, err.code, time.perf_counter() - started)
                if err.code == "rate_limited":
                    self.limit_log.hit(req.cmd, self._who(session), err.message)
                if err.code == "user_disabled" and session.user is not None:
                    session.conn.close(CLOSE_ACCOUNT, "account disabled")
                return
            except Exception:  # noqa: BLE001 - a bug fails this command only
                log.exception("handler %s failed", req.cmd)
                hub.reply(session, error_body(req.cmd, req.id, ChatError("internal", "the server failed on this command")), codec)
                self.metrics.command(req.cmd, "internal", time.perf_counter() - started)
                return
            hub.reply(session, ok_body(req.cmd, req.id, data), codec)
            self.metrics.command(req.cmd, "ok", time.perf_counter() - started)
            if req.cmd in MODERATION:
                logs.moderation(req.cmd, session.user, session.device, req.data)
        finally:
            # The pushes of this request's write, when it was the only one in its batch: they
            # follow its response (chatd.core.delivery).
            self.delivery.flush()
        if call.effects:  # pushes of a request that wrote nothing (typing, a delivery receipt)
            self.delivery.apply(call.effects, session)

    @staticmethod
    async def _over_frame_budget(wait_ms: int) -> None:
        """A connection over its frame budget is read no further until a frame is allowed again:
        a flood then costs the server about one answer per allowed frame, not one per frame sent."""
        if wait_ms:
            await trio.sleep(wait_ms / 1000)


def info_line(server: Server) -> list[str]:
    lines = [f"chatd {__version__} listening on {url}" for url in server.urls]
    lines.append(f"database: {server.cfg.db_path} (durability {server.cfg.storage.durability})")
    if server.cfg.metrics.enabled:
        lines.append(f"metrics on {server.metrics_url or server.urls[0] + METRICS_PATH} (to {', '.join(server.cfg.metrics.allow_from) or 'nobody'}: metrics.allow_from)")
    if server.user_count == 0:
        lines.append("no users yet: create the first admin in a browser (as the next line says) or with `chatd user add NAME --admin`")
    return lines

