"""What every scenario shares: its result, the run context and the registry (goals: goals.py)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import corpus, syncprobe, wire
from ..target import AttachedServer, SpawnedServer, Target
from .goals import Goal


class Skip(Exception):
    """The scenario cannot run here; the message says why (shown in the table and the JSON)."""


@dataclass
class Result:
    id: str
    title: str
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    goals: list[dict[str, Any]] = field(default_factory=list)
    generator: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    timelines: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    machine_load: dict[str, Any] = field(default_factory=dict)  # the whole machine over the scenario, other processes included
    samples: dict[str, list[float]] = field(default_factory=dict)  # latencies in ms, for plots; not in the JSON

    def fig(self, name: str, value: Any, unit: str = "") -> None:
        self.figures[name] = value
        if unit:
            self.units[name] = unit

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "note": self.note,
            "seconds": round(self.seconds, 1),
            "params": self.params,
            "figures": self.figures,
            "units": self.units,
            "goals": self.goals,
            "generator": self.generator,
            "server": self.server,
            "detail": self.detail,
            "machine_load": self.machine_load,
            "timelines": self.timelines,
        }
        return out


@dataclass(frozen=True)
class Scenario:
    id: str
    title: Callable[[dict[str, Any]], str]  # what ran, from the params it ran with
    figures: str  # as in the table
    goals: tuple[Goal, ...]
    plan: Callable[[Context], dict[str, Any]]  # the params (scale) from the options, before it runs
    run: Callable[[Context, Result], None]  # reads res.params; may refine them (what it found it could run)
    needs: tuple[str, ...] = ()  # wire commands the server must implement
    needs_note: str = ""


REGISTRY: dict[str, Scenario] = {}


def scenario(
    id: str,
    title: Callable[[dict[str, Any]], str],
    figures: str,
    *,
    plan: Callable[[Context], dict[str, Any]],
    goals: tuple[Goal, ...] = (),
    needs: tuple[str, ...] = (),
    needs_note: str = "",
) -> Callable[[Callable[[Context, Result], None]], Callable[[Context, Result], None]]:
    def register(fn: Callable[[Context, Result], None]) -> Callable[[Context, Result], None]:
        REGISTRY[id] = Scenario(id, title, figures, goals, plan, fn, needs, needs_note)
        return fn

    return register


class Context:
    """Options, scale and the servers a run uses."""

    def __init__(self, args: Any, durability: str, log: Callable[[str], None] = print):
        self.args = args
        self.quick: bool = args.quick
        self.url: str | None = args.url
        self.durability = durability  # storage.durability of the servers it spawns ("unknown": an attached one)
        self.database: str = getattr(args, "database", "sqlite")  # where the spawned servers keep their data
        self.nodes: int = getattr(args, "nodes", None) or 1  # chatd nodes per spawned server (several: on one PostgreSQL database)
        self._sync: dict[str, Any] | None = None
        self.log = log
        self._attached: AttachedServer | None = None
        self._corpus: tuple[Path, dict[str, Any]] | None = None
        self._corpus_server: SpawnedServer | None = None
        self.cache_dir = Path(args.cache) if args.cache else corpus.CACHE_DIR
        self.workdir = Path(args.workdir) if args.workdir else None
        self.profile_dir = Path(args.profile) if getattr(args, "profile", None) else None
        self.current = ""  # the scenario running now
        self._profilers: list[Any] = []
        self._profiled: set[int] = set()

    # -- profiling (--profile) ---------------------------------------------------------------

    def _profile(self, pid: int | None, label: str) -> Any:
        if self.profile_dir is None or pid is None or pid in self._profiled:
            return None
        from ..profile import Profiler

        n = sum(1 for p in self._profilers if p.path.name.startswith(f"{label}.") or p.path.name.startswith(f"{label}-"))
        prof = Profiler(pid, self.profile_dir, label if not n else f"{label}-{n + 1}")
        self._profilers.append(prof)
        self._profiled.add(pid)
        return prof

    def end_scenario(self) -> None:
        """Stop the profilers started during the scenario that just ended."""
        for prof in self._profilers:
            prof.stop()
        self._profilers.clear()
        self._profiled.clear()

    # -- scale -------------------------------------------------------------------------------

    def scale(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    # -- servers -----------------------------------------------------------------------------

    def spawn(self, users: int, db_source: Path | None = None, durability: str | None = None, nodes: int | None = None) -> SpawnedServer:
        """A server to start, not yet prepared: users bench1..bench{users}, this run's durability
        (or the one given), this run's number of nodes (or the one given)."""
        return SpawnedServer(users, db_source=db_source, durability=durability or self.durability, workdir=self.workdir, keep=self.args.keep, database=self.database, nodes=nodes or self.nodes)

    def sync_probe(self) -> dict[str, Any] | None:
        """The latency of one fdatasync where the spawned servers keep their data (measured once); None with --url."""
        if self.url:
            return None
        if self._sync is None:
            self._sync = syncprobe.measure(self.workdir or syncprobe.default_dir())
        return self._sync

    @contextlib.contextmanager
    def server(self, users: int, durability: str | None = None, seed: Callable[[SpawnedServer], Any] | None = None, nodes: int | None = None) -> Iterator[Target]:
        """A fresh server with users bench1..bench{users} (with this run's durability and nodes, or
        the ones given), or the running one (--url). `seed(server)` writes into its database (the file
        server.data_dir / "chatd.sqlite3") before it starts; a scenario with a seed cannot run
        against a running server."""
        if self.url:
            if seed is not None:
                raise Skip("needs a server the run starts: its data is written into the database before it starts")
            yield self.attached(users)
            return
        srv = self.spawn(users, durability=durability, nodes=nodes)
        prof = None
        try:
            srv.prepare()
            if seed is not None:
                seed(srv)
            srv.start()
            prof = self._profile(srv.pid, self.current)
            yield srv
        finally:
            if prof is not None:
                prof.stop()
            srv.cleanup()

    def attached(self, users: int = 0) -> AttachedServer:
        if self._attached is None:
            self._attached = AttachedServer(self.url, self.args.password, pid=self.args.server_pid, max_users=self.args.url_users)  # type: ignore[arg-type]
        if users > self._attached.max_users:
            raise Skip(f"needs users bench1..bench{users} on the server (--url-users is {self._attached.max_users})")
        return self._attached

    def corpus(self) -> tuple[Path, dict[str, Any]]:
        """The cached corpus database (built on first use) and its metadata."""
        if self._corpus is None:
            n = self.args.corpus
            self._corpus = corpus.ensure(n, self.cache_dir, log=self.log)
        return self._corpus

    def corpus_meta(self) -> dict[str, Any] | None:
        """Metadata of the corpus; with --url, of the locally cached one if there is one."""
        if not self.url:
            return self.corpus()[1]
        path = corpus.cache_path(self.args.corpus, self.cache_dir)
        meta = corpus.meta_path(path)
        if meta.exists():
            import json

            return json.loads(meta.read_text())
        return None

    def corpus_server(self) -> Target:
        """A server on a copy of the corpus, shared by the scenarios that read it (H, S)."""
        if self.url:
            return self.attached()
        if self._corpus_server is None:
            path, meta = self.corpus()
            srv = self.spawn(meta["users"], db_source=path)
            self.log(f"  starting a server on a copy of the {meta['messages']:,}-message corpus")
            srv.prepare()
            srv.start()
            self._corpus_server = srv
        self._profile(self._corpus_server.pid, f"{self.current}-corpus")
        return self._corpus_server

    def close(self) -> None:
        if self._corpus_server is not None:
            self._corpus_server.cleanup()
            self._corpus_server = None

    # -- what the server implements ----------------------------------------------------------

    def missing_commands(self, cmds: tuple[str, ...]) -> list[str]:
        """Which of the wire commands the server under test does not implement."""
        if not cmds:
            return []
        if not self.url:
            from chatd.protocol.registry import REGISTRY as PROTOCOL

            return [c for c in cmds if c not in PROTOCOL.commands or not PROTOCOL.commands[c].implemented]
        target = self.attached(1)
        loop = wire.Loop()
        try:
            (conn,) = wire.open_many(loop, target.url, target.logins(["bench1"]))
            missing = []
            for c in cmds:
                env, _ = wire.call(loop, conn, c, {})
                if not env.ok and (env.error or {}).get("code") in ("not_implemented", "unknown_command"):
                    missing.append(c)
            return missing
        finally:
            loop.close()


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t
