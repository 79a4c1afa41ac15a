"""What the server counts about itself, and its Prometheus exposition (docs/operations.md#metrics).

The hot paths count into plain ints, dicts and bucket lists (a command costs a dict
increment and a bisect); prometheus-client turns them into its families and text format only
when `/metrics` is scraped, so counting costs no locks and no label lookups per command. The
gauges (connections, queue depths, calls, streams) are read from their owners at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Server

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Histogram:
    """Counts per upper bound (plus +Inf) and the sum, as Prometheus histograms have them."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts):
            running += count
            out.append((bound, running))
        return out


class Metrics:
    """The counters of one server. Every method is called on a hot path: keep them O(1)."""

    def __init__(self) -> None:
        self.commands: dict[tuple[str, str], int] = {}  # (command, "ok" or error code) -> count
        self.command_seconds: dict[str, Histogram] = {}
        self.logins: dict[tuple[str, str], int] = {}  # (via, result) -> count
        self.closes: dict[str, int] = {}  # WebSocket close code -> connections closed with it
        self.slow_consumer_closes = 0
        self.push_deliveries: dict[tuple[str, str], int] = {}  # (kind, result) -> count

    def command(self, cmd: str, result: str, seconds: float) -> None:
        key = (cmd, result)
        self.commands[key] = self.commands.get(key, 0) + 1
        hist = self.command_seconds.get(cmd)
        if hist is None:
            hist = self.command_seconds[cmd] = Histogram(LATENCY_BUCKETS)
        hist.observe(seconds)

    def login(self, via: str, result: str) -> None:
        key = (via, result)
        self.logins[key] = self.logins.get(key, 0) + 1

    def closed(self, code: int | None, slow_consumer: bool) -> None:
        key = "none" if code is None else str(code)
        self.closes[key] = self.closes.get(key, 0) + 1
        self.slow_consumer_closes += slow_consumer

    def push_delivery(self, kind: str, result: str) -> None:
        key = (kind, result)
        self.push_deliveries[key] = self.push_deliveries.get(key, 0) + 1


class Collector:
    """A prometheus-client collector over one server's Metrics and the gauges of its parts."""

    def __init__(self, server: Server):
        self.server = server

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        server = self.server
        m = server.metrics

        def counter(name: str, doc: str, labels: list[str], values: dict[Any, int]) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=labels)
            for key, value in sorted(values.items()):
                family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
            return family

        def histogram(name: str, doc: str, hist: Histogram) -> HistogramMetricFamily:
            family = HistogramMetricFamily(name, doc)
            family.add_metric([], hist.cumulative(), hist.total)
            return family

        hub = server.hub
        sessions = hub.all_sessions()
        gauge = GaugeMetricFamily("chatd_connections", "WebSocket connections open now", labels=["state"])
        logged_in = sum(1 for s in sessions if s.user is not None)
        gauge.add_metric(["logged_in"], logged_in)
        gauge.add_metric(["logging_in"], len(sessions) - logged_in)
        yield gauge
        yield GaugeMetricFamily("chatd_users_online", "users with at least one logged-in connection", value=len(hub.by_user))
        yield counter("chatd_connections_closed", "WebSocket connections ended, by close code (none: the peer vanished without one)", ["code"], m.closes)
        yield CounterMetricFamily("chatd_slow_consumer_closes", "connections closed because their outgoing backlog overflowed (4008)", value=m.slow_consumer_closes)
        yield counter("chatd_logins", "logins checked, by way in and result", ["via", "result"], m.logins)
        yield counter("chatd_commands", "requests answered, by command and result (ok or the error code)", ["command", "result"], m.commands)
        latency = HistogramMetricFamily("chatd_command_seconds", "time from a request's decoding to its response", labels=["command"])
        for cmd, hist in sorted(m.command_seconds.items()):
            latency.add_metric([cmd], hist.cumulative(), hist.total)
        yield latency
        writer = server.writer
        yield histogram("chatd_writer_batch_ops", "write operations committed per transaction (group commit)", writer.batch_ops)
        yield histogram("chatd_writer_commit_seconds", "time to run and commit one batch", writer.commit_seconds)
        yield counter("chatd_writer_reruns", "write batches run again, by why: an op failed (then with a savepoint per op), or a deadlock with another node's writer (PostgreSQL)", ["reason"], {"failed_op": writer.reruns, "deadlock": writer.retries})
        queues = GaugeMetricFamily("chatd_queue_depth", "work waiting now, by queue", labels=["queue"])
        queues.add_metric(["writer"], writer.queued())
        queues.add_metric(["readers"], server.readers.limiter.statistics().tasks_waiting)
        yield queues
        yield CounterMetricFamily("chatd_fanout_deliveries", "pushes written to connections", value=hub.deliveries)
        yield counter("chatd_push_deliveries", "offline notifications sent to push services, by kind and result", ["kind", "result"], m.push_deliveries)
        services = server.services
        yield GaugeMetricFamily("chatd_calls_active", "calls ringing or in progress", value=len(services.calls.calls))
        yield GaugeMetricFamily("chatd_streams_active", "streamed messages still streaming", value=len(services.streams.streams))


def exposition(server: Server) -> bytes:
    """The server's metrics, and the process's (memory, CPU, open files), in Prometheus' text format."""
    from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(server))  # type: ignore[arg-type]
    ProcessCollector(namespace="chatd", registry=registry)
    return generate_latest(registry)
