"""chatd/protocol/requests.py is generated from the registry, up to date, and the same as the
Structs the registry builds; serving imports it instead of the registry (tests/test_memory.py).

Plain functions: no server, no sockets.
"""

from __future__ import annotations

import msgspec
import pytest

from chatd.protocol import requestgen, requests
from chatd.protocol.registry import REGISTRY

def test_requests_py_is_up_to_date(capsys):
    if requestgen.main(["--check"]) != 0:
        pytest.fail(capsys.readouterr().err.strip(), pytrace=False)  # "... is stale: run `python -m chatd.protocol.requestgen`"


def test_requestgen_check_mode(tmp_path, capsys):
    target = tmp_path / "requests.py"
    assert requestgen.main(["--check", "--output", str(target)]) == 1
    assert "stale" in capsys.readouterr().err
    assert requestgen.main(["--output", str(target)]) == 0
    assert requestgen.main(["--check", "--output", str(target)]) == 0


def _shallow(t: object) -> object:
    """A field's type, with every Struct named by its class (a content may hold contents: a
    merged forward's items, so the full types refer to themselves)."""
    if isinstance(t, msgspec.inspect.StructType):
        return t.cls
    if isinstance(t, msgspec.inspect.UnionType):
        return ("union", tuple(_shallow(x) for x in t.types))
    if isinstance(t, msgspec.inspect.ListType):
        return ("list", _shallow(t.item_type), t.min_length, t.max_length)
    return t


def _fields(struct: type) -> list[tuple[object, ...]]:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    assert not info.forbid_unknown_fields
    return [(f.name, f.encode_name, _shallow(f.type), f.required, f.default, f.default_factory) for f in info.fields]


@pytest.mark.parametrize("cmd", requestgen.implemented_requests(), ids=lambda c: c.wire)
def test_generated_struct_is_the_registrys(cmd):
    generated = requests.REQUESTS[cmd.wire]
    assert generated.__name__ == cmd.struct.__name__
    assert _fields(generated) == _fields(cmd.struct)
    assert requests.COSTS[cmd.wire] == cmd.cost


def test_the_tables_cover_every_request():
    implemented = {c.wire for c in REGISTRY.commands.values() if c.kind == "request" and c.implemented}
    planned = {c.wire for c in REGISTRY.commands.values() if c.kind == "request" and not c.implemented}
    assert set(requests.REQUESTS) == implemented == set(requests.COSTS)
    assert requests.UNIMPLEMENTED == planned

