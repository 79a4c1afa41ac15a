"""Reading the directory from a CSV file (`chatd directory import`; docs/directory.md). No I/O:
the text in, people and errors by line number out (chatd.store.directory_import compares them
with the database).

The first line names the columns, in any order: `id`, `username` and `name` are required;
`departments` (paths separated by `;`, names in a path by `/`, the first the primary one),
`title`, `email`, `phone`, `employee_no` and `manager` (the manager's `id`) may be there.
"""

from __future__ import annotations

import csv
import io
import re

from .store.directory_import import Person

REQUIRED = ("id", "username", "name")
COLUMNS = (*REQUIRED, "departments", "title", "email", "phone", "employee_no", "manager")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
MAX = {"id": 256, "username": 64, "name": 100, "title": 100, "email": 254, "phone": 40, "employee_no": 64, "manager": 256}
MAX_DEPARTMENT_NAME = 100


def decode(data: bytes) -> tuple[str, list[str]]:
    """The file's text (UTF-8, with or without a byte order mark), or an error naming the line."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", [f"line {line}: not UTF-8 (byte {exc.start})"]


def _paths(value: str) -> tuple[tuple[tuple[str, ...], ...], str | None]:
    out = []
    for raw in value.split(";"):
        if not raw.strip():
            continue
        path = tuple(part.strip() for part in raw.split("/"))
        if any(not part for part in path):
            return (), f"department path {raw.strip()!r} has an empty name"
        if any(len(part) > MAX_DEPARTMENT_NAME for part in path):
            return (), f"a department name in {raw.strip()!r} is over {MAX_DEPARTMENT_NAME} characters"
        if path not in out:
            out.append(path)
    return tuple(out), None


def parse(text: str) -> tuple[list[Person], list[str]]:
    """The people of the file and its errors ("line N: ..."); with any error, use none of them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    errors: list[str] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], ["line 1: the file is empty (the first line names the columns)"]
    except csv.Error as exc:
        return [], [f"line 1: {exc}"]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        why = []
        if unknown:
            why.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            why.append(f"missing columns {', '.join(missing)}")
        if len(set(header)) != len(header):
            why.append("a column is named twice")
        return [], [f"line 1: {'; '.join(why)} (the columns are {', '.join(COLUMNS)})"]
    people: list[Person] = []
    ids: dict[str, int] = {}
    usernames: dict[str, int] = {}
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"line {start}: {exc}")
            break
        line, start = start, reader.line_num + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(f"line {line}: {len(row)} fields, the header has {len(header)}")
            continue
        rec = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
        bad = [f"{c} is empty" for c in REQUIRED if not rec[c]]
        bad += [f"{c} is over {n} characters" for c, n in MAX.items() if len(rec.get(c, "")) > n]
        if rec["username"] and not USERNAME.match(rec["username"]):
            bad.append(f"username {rec['username']!r} may have only letters, digits and . _ @ - (not first)")
        if rec.get("email") and "@" not in rec["email"]:
            bad.append(f"email {rec['email']!r} has no @")
        departments, why = _paths(rec.get("departments", ""))
        if why:
            bad.append(why)
        if rec["id"] in ids:
            bad.append(f"id {rec['id']!r} is on line {ids[rec['id']]} already")
        if rec["username"].lower() in usernames:
            bad.append(f"username {rec['username']!r} is on line {usernames[rec['username'].lower()]} already")
        if rec.get("manager") and rec["manager"] == rec["id"]:
            bad.append("a person cannot be their own manager")
        if bad:
            errors.append(f"line {line}: {'; '.join(bad)}")
            continue
        ids[rec["id"]] = line
        usernames[rec["username"].lower()] = line
        people.append(
            Person(
                rec["id"], rec["username"], rec["name"], rec.get("title", ""), rec.get("email", ""), rec.get("phone", ""),
                rec.get("employee_no", ""), departments, rec.get("manager") or None, f"line {line}",
            )
        )
    return people, errors
