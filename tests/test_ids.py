"""Message ids (chatd.store.db.IdGen): time-ordered, strictly increasing, under 2^53; with
node numbers (several nodes on PostgreSQL), never the same id from two nodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.store.db import EPOCH_MS, MAX_NODES, IdGen

T0 = EPOCH_MS + 10**9


def test_one_node_counts_within_a_millisecond_and_survives_the_clock_going_back():
    ids = IdGen()
    a, b = ids.next(T0), ids.next(T0)
    assert b == a + 1 and a == (T0 - EPOCH_MS) << 12
    assert ids.next(T0 - 5000) == b + 1  # the clock stepped back: still increasing
    assert ids.next(EPOCH_MS + 69 * 365 * 86_400_000) < 2**53  # 2094


@given(
    st.lists(st.tuples(st.integers(0, MAX_NODES - 1), st.integers(-3, 3)), min_size=1, max_size=400),
)
def test_nodes_never_make_the_same_id_and_each_node_increases(steps):
    gens = {n: IdGen(0, node=n) for n in range(MAX_NODES)}
    seen: set[int] = set()
    last = dict.fromkeys(gens, 0)
    clock = T0
    for node, tick in steps:
        clock += tick  # the clock may stand still or go back
        made = gens[node].next(clock)
        assert made not in seen and made > last[node]
        last[node] = made
        assert (made >> 8) & (MAX_NODES - 1) == node  # the node's number is in the id
        seen.add(made)


def test_a_node_keeps_its_number_past_256_ids_in_one_millisecond_and_after_anothers_id():
    ids = IdGen(0, node=3)
    made = [ids.next(T0) for _ in range(300)]
    assert made == sorted(made) and len(set(made)) == 300
    assert all((m >> 8) & 0xF == 3 for m in made)
    later = IdGen(made[-1] + (9 << 8), node=5)  # started after a higher id of node 12's
    first = later.next(T0)
    assert first > made[-1] + (9 << 8) and (first >> 8) & 0xF == 5


def test_a_node_number_is_checked():
    with pytest.raises(ValueError):
        IdGen(0, node=MAX_NODES)
