"""A writer on PostgreSQL cancelled while a batch runs on its thread and more ops wait in its
queue (a server stopped under load): every submitter is answered, the running batch's by its
commit and the queued ones with `unavailable`, and none waits forever (chatd.store.writer)."""

from __future__ import annotations

import threading

import trio

from chatd.errors import ChatError
from chatd.store import pg
from chatd.store.writer import Writer

from .test_pg_writer import add, count, dsn  # noqa: F401 - dsn is a fixture

__all__ = ["dsn"]


async def test_a_cancelled_writer_answers_its_running_batch_and_its_queue(dsn):  # noqa: F811
    writer = Writer("", dsn=dsn)
    running, release = threading.Event(), threading.Event()
    answers: dict[str, str] = {}

    def held(ctx):  # the running batch: on the writer's thread until released
        running.set()
        release.wait(10)
        return add(ctx, 1, "held")

    async def submit(name, fn, *args):
        try:
            await writer.submit(fn, *args)
            answers[name] = "ok"
        except ChatError as err:
            answers[name] = err.code

    writer_scope = trio.CancelScope()

    async def run_writer(task_status=trio.TASK_STATUS_IGNORED):
        with writer_scope:
            await writer.run(task_status=task_status)

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_writer)
            nursery.start_soon(submit, "held", held)
            await trio.to_thread.run_sync(running.wait)
            for k in range(20):
                nursery.start_soon(submit, f"queued-{k}", add, 2, f"queued-{k}")
            await trio.testing.wait_all_tasks_blocked()
            assert writer.queued() == 20
            writer_scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            release.set()
    assert answers.pop("held") == "ok"
    assert set(answers.values()) == {"unavailable"} and len(answers) == 20
    conn = pg.connect(dsn)
    try:
        assert count(conn, 1) == 1 and count(conn, 2) == 0
    finally:
        conn.close()
