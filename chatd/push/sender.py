"""The push worker process from the server's side (chatd.push.worker).

`send` hands one push to the worker and waits for its outcome. The worker starts when the push
service starts with a device registered, or at the first registration, or else at the first push
(a server where nobody registered a device never starts it), with the interpreter and the module
path the server has, so an installed package, a checkout and a single-file build all
find it. If it exits, or does not answer a push ANSWER_GRACE_S after that push's own deadlines
(it is killed then), the pushes it held answer "no answer" (the push service retries them) and
the next push starts a new one, not sooner than a growing pause after a worker that died young.
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
from typing import Any

import msgspec
import trio

from .worker import Job, Lines, Outcome, Setup

log = logging.getLogger("chatd.push")

BOOT = "import json, sys; sys.path[:] = json.loads(sys.argv[1]); from chatd.push.worker import main; main()"
RESTART_PAUSE_S = (0.0, 1.0, 5.0, 30.0)  # before the 1st, 2nd... start after a worker that died young
YOUNG_S = 10.0
STOP_WAIT_S = 2.0
ANSWER_GRACE_S = 5.0  # past the worker's own deadlines for a push, before it is taken for stuck


class PushSender:
    def __init__(self, setup: Setup, nursery: trio.Nursery):
        self._setup = setup
        self._nursery = nursery
        self._process: trio.Process | None = None
        self._start_lock = trio.Lock()
        self._write_lock = trio.StrictFIFOLock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, list[Any]] = {}  # job id -> [event, outcome]
        self._deaths = 0  # workers in a row that died young
        self._encode = msgspec.json.Encoder().encode
        self._closing = False
        self.started = 0  # workers started (for the tests and the log)

    @property
    def pid(self) -> int | None:
        """The running worker's process id."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def start_soon(self) -> None:
        """Start the worker now, unless it runs, so the first push does not wait for it."""
        if self.pid is None and not self._closing:
            self._nursery.start_soon(self._start_if_stopped)

    async def _start_if_stopped(self) -> None:
        try:
            await self._running()
        except OSError as exc:
            self._deaths += 1
            log.error("the push worker could not start: %s", exc)

    async def send(self, device: dict[str, Any], data: dict[str, Any], urgency: str, ttl_s: int, topic: str) -> Outcome:
        job_id = next(self._ids)
        try:
            process = await self._running()
        except OSError as exc:
            self._deaths += 1
            log.error("the push worker could not start: %s", exc)
            return Outcome(job_id, error="WorkerNotStarted")
        slot: list[Any] = [trio.Event(), None]
        self._waiting[job_id] = slot
        try:
            line = self._encode(Job(job_id, device, data, urgency, ttl_s, topic)) + b"\n"
            try:
                async with self._write_lock:
                    assert process.stdin is not None
                    await process.stdin.send_all(line)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return Outcome(job_id, error="WorkerExited")
            with trio.move_on_after(self._setup.connect_timeout_s + self._setup.request_timeout_s + ANSWER_GRACE_S):
                await slot[0].wait()
                return slot[1]  # type: ignore[no-any-return]
            # The worker keeps its own deadlines: one that has not answered by now is stuck.
            log.error("the push worker (pid %d) did not answer in time: killed", process.pid)
            if process.returncode is None:
                process.kill()
                await process.wait()  # the next push starts a new one
            return Outcome(job_id, error="WorkerStuck")
        finally:
            self._waiting.pop(job_id, None)

    async def _running(self) -> trio.Process:
        process = self._process
        if process is not None and process.returncode is None:
            return process
        async with self._start_lock:
            if self._process is None or self._process.returncode is not None:
                await trio.sleep(RESTART_PAUSE_S[min(self._deaths, len(RESTART_PAUSE_S) - 1)])
                self._process = await self._start()
            return self._process

    async def _start(self) -> trio.Process:
        argv = [sys.executable, "-I", "-c", BOOT, json.dumps(sys.path)]
        process = await trio.lowlevel.open_process(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.started += 1
        assert process.stdin is not None
        await process.stdin.send_all(self._encode(self._setup) + b"\n")
        self._nursery.start_soon(self._read, process, trio.current_time())
        log.info("push worker started (pid %d)", process.pid)
        return process

    async def _read(self, process: trio.Process, started: float) -> None:
        assert process.stdout is not None
        decode = msgspec.json.Decoder(Outcome).decode
        try:
            async for line in Lines(process.stdout):
                outcome = decode(line)
                slot = self._waiting.get(outcome.id)
                if slot is not None:
                    slot[1] = outcome
                    slot[0].set()
        except (trio.BrokenResourceError, trio.ClosedResourceError, ValueError, msgspec.DecodeError):
            pass
        finally:
            with trio.CancelScope(shield=True):
                await self._stop(process)
            young = trio.current_time() - started < YOUNG_S
            self._deaths = self._deaths + 1 if young else 0
            if process is self._process:
                self._process = None
            if not self._closing:
                log.warning("push worker (pid %d) exited with %s; its %d pushes in flight get no answer", process.pid, process.returncode, len(self._waiting))
            for job_id, slot in list(self._waiting.items()):
                if not slot[0].is_set():
                    slot[1] = Outcome(job_id, error="WorkerExited")
                    slot[0].set()

    async def _stop(self, process: trio.Process) -> None:
        """Close the worker's input (it ends), and kill it if it has not within STOP_WAIT_S."""
        if process.stdin is not None:
            await process.stdin.aclose()
        with trio.move_on_after(STOP_WAIT_S):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()

    async def aclose(self) -> None:
        self._closing = True
        if self._process is not None:
            await self._stop(self._process)
