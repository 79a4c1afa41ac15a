"""`chatd directory import FILE.csv [--dry-run]` and `chatd directory admin`, run as the real
command on a temporary data directory: the diff, a dry run that writes nothing, errors by line
number that write nothing, and the result searched over the wire."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from chatd.client import connect

from . import helpers_proc as proc
from .conftest import PASSWORD
from .test_cli import seed

CSV = """id,username,name,departments,title,email,phone,employee_no,manager
e-1,zhangsan,张三,Engineering/Backend,Engineer,zhangsan@example.com,138-0013-8000,E1024,e-2
e-2,zengguofan,曾国藩,Engineering,CTO,zeng@example.com,,E0001,
e-3,jsmith,John Smith,Sales;Engineering/Backend,"Sales, Asia",js@example.com,,E2001,e-2
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    seed(d, ("alice", True, False), ("bob", False, False))
    return d


def write(tmp_path: Path, text: str, name: str = "people.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def counts(data: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(data / "chatd.sqlite3")
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("departments", "directory_members", "users"))  # type: ignore[return-value]
    finally:
        conn.close()


async def directory(data: Path, *args: str) -> proc.Result:
    return await proc.run("directory", *args, "--data", str(data))


async def test_dry_run_then_import_then_changes(data, tmp_path):
    path = write(tmp_path, CSV)
    dry = await directory(data, "import", path, "--dry-run")
    assert dry.returncode == 0, dry
    lines = dry.stdout.splitlines()
    for expected in ("+ department Engineering", "+ department Engineering/Backend", "+ department Sales", "+ member zhangsan (张三) id e-1", "= 0 unchanged", "dry run: nothing was written"):
        assert expected in lines, (expected, lines)
    assert counts(data) == (0, 0, 2)

    done = await directory(data, "import", path)
    assert done.returncode == 0, done
    assert done.stdout.splitlines()[-1] == "applied"
    assert counts(data) == (3, 3, 5)
    conn = sqlite3.connect(data / "chatd.sqlite3")
    try:
        manager = conn.execute("SELECT u.name FROM directory_members m JOIN users u ON u.id = m.manager_id WHERE m.external_id = 'e-1'").fetchone()
        assert manager == ("zengguofan",)
        primary = conn.execute(
            "SELECT d.name FROM directory_member_departments md JOIN departments d ON d.id = md.department_id "
            "JOIN directory_members m ON m.user_id = md.user_id WHERE m.external_id = 'e-3' AND md.is_primary = 1"
        ).fetchone()
        assert primary == ("Sales",)
    finally:
        conn.close()

    # The same file again changes nothing.
    again = await directory(data, "import", path)
    assert again.stdout.splitlines()[-2:] == ["= 3 unchanged", "nothing to change"], again

    # A new title, a move, and a username change keep the same person (by id).
    changed = CSV.replace("e-1,zhangsan,张三,Engineering/Backend,Engineer", "e-1,zhang.san,张三,Engineering/Frontend,Lead Engineer")
    path2 = write(tmp_path, changed, "changed.csv")
    dry = await directory(data, "import", path2, "--dry-run")
    assert dry.returncode == 0, dry
    change = [line for line in dry.stdout.splitlines() if line.startswith("~ ")]
    assert change == ['~ member zhang.san (张三): title "Engineer" -> "Lead Engineer"; departments "Engineering/Backend" -> "Engineering/Frontend"; username zhangsan -> zhang.san']
    assert "+ department Engineering/Frontend" in dry.stdout.splitlines()
    assert counts(data) == (3, 3, 5)
    assert (await directory(data, "import", path2)).returncode == 0
    assert counts(data) == (4, 3, 5)

    # The import is searched over the wire: pinyin with the surname read right.
    async with proc.serve(data) as srv:
        with trio.fail_after(30):
            async with connect(srv.ws_url) as c:
                await c.login("bob", PASSWORD)
                found = await c.request("enterprise_member_search", {"query": "zengg"})
                assert [m["name"] for m in found["members"]] == ["曾国藩"]
                found = await c.request("enterprise_member_search", {"query": "zs"})
                assert [(m["user"]["name"], m["title"]) for m in found["members"]] == [("zhang.san", "Lead Engineer")]


async def test_errors_by_line_number_write_nothing(data, tmp_path):
    bad = (
        "id,username,name,departments,email\n"  # line 1
        'e-1,zhangsan,张三,"Engineering/\n'  # lines 2-3: a quoted field over two lines
        'Backend",zs@example.com\n'
        "e-2,lisi,李四\n"  # line 4: too few fields
        "e-3,,王五,Sales,\n"  # line 5: no username
        "e-1,zhaoliu,赵六,Sales,zl@example.com\n"  # line 6: id of line 2
        "e-7,qianqi,钱七,Sales//Asia,qianqi-at-example.com\n"  # line 7: an empty department name, no @
    )
    res = await directory(data, "import", write(tmp_path, bad))
    assert res.returncode == 1, res
    errors = [line for line in res.stderr.splitlines() if ": line " in line]
    assert [e.split(": line ")[1].split(":")[0] for e in errors] == ["4", "5", "6", "7"], res.stderr
    assert "3 fields, the header has 5" in errors[0]
    assert "username is empty" in errors[1]
    assert "id 'e-1' is on line 2 already" in errors[2]
    assert "empty name" in errors[3] and "has no @" in errors[3]
    assert "nothing was written" in res.stderr
    assert counts(data) == (0, 0, 2)
    # Errors only the database reveals are reported by line too, and write nothing either.
    unknown_manager = "id,username,name,manager\ne-1,zhangsan,张三,\ne-2,lisi,李四,e-99\n"
    res = await directory(data, "import", write(tmp_path, unknown_manager, "m.csv"), "--dry-run")
    assert res.returncode == 1 and "line 3: manager 'e-99' is neither in the source nor in the directory" in res.stderr, res
    assert counts(data) == (0, 0, 2)
    for text, message in (
        ("", "line 1: the file is empty"),
        ("id,name,colour\n", "line 1: unknown columns colour; missing columns username"),
    ):
        res = await directory(data, "import", write(tmp_path, text, "h.csv"))
        assert res.returncode == 1 and message in res.stderr, res
    (tmp_path / "latin1.csv").write_bytes("id,username,name\ne-1,x,Jos\xe9\n".encode("latin-1"))
    res = await directory(data, "import", str(tmp_path / "latin1.csv"))
    assert res.returncode == 1 and "line 2: not UTF-8" in res.stderr, res
    res = await directory(data, "import", str(tmp_path / "missing.csv"))
    assert res.returncode == 1 and "cannot read" in res.stderr, res
    assert counts(data) == (0, 0, 2)


async def test_directory_admin_role(data):
    res = await directory(data, "admin", "bob")
    assert res.returncode == 0 and "bob is now a directory administrator" in res.stdout, res
    async with proc.serve(data) as srv:
        with trio.fail_after(30):
            async with connect(srv.ws_url) as c:
                await c.login("bob", PASSWORD)
                await c.request("enterprise_department_create", {"name": "HR"})
    res = await directory(data, "admin", "bob", "--revoke")
    assert res.returncode == 0, res
    res = await directory(data, "admin", "nobody")
    assert res.returncode == 2 and "no user named 'nobody'" in res.stderr, res
