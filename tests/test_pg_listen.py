"""LISTEN under trio (chatd.store.pg_listen) on a real PostgreSQL cluster: notifications reach
the trio thread in commit order, and a listening connection that is killed is replaced, with
the gap reported so the node can catch up."""

from __future__ import annotations

import psycopg
import trio

from chatd.store.pg_listen import Listener


async def test_notifications_arrive_in_commit_order_and_a_lost_connection_is_replaced(pg_dsn):
    heard_in, heard = trio.open_memory_channel[tuple[str, str]](100)
    listener = Listener(pg_dsn, ["chatd", "other"], lambda ch, payload: heard_in.send_nowait((ch, payload)), lambda: heard_in.send_nowait(("gap", "")))

    async def next_heard() -> tuple[str, str]:
        with trio.fail_after(10):
            return await heard.receive()

    with psycopg.connect(pg_dsn, autocommit=True) as sender:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(listener.run)
            with trio.fail_after(10):
                await listener.listening.wait()
            with sender.transaction():  # several in one commit, as a writer's batch sends them
                for k in range(5):
                    sender.execute("SELECT pg_notify('chatd', %s)", (f"7:{k}",))
            sender.execute("NOTIFY unheard, 'y'")
            sender.execute("NOTIFY other, 'x'")
            assert [await next_heard() for _ in range(6)] == [*(("chatd", f"7:{k}") for k in range(5)), ("other", "x")]

            first = listener.backend_pid
            sender.execute("SELECT pg_terminate_backend(%s)", (first,))
            assert await next_heard() == ("gap", "")  # reported once it listens again
            assert listener.connects == 2 and listener.backend_pid not in (None, first)
            sender.execute("SELECT pg_notify('chatd', '8:1')")
            assert await next_heard() == ("chatd", "8:1")
            assert heard.statistics().current_buffer_used == 0
            nursery.cancel_scope.cancel()
