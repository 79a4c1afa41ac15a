"""The registry (clients/protocol.yaml), the handlers, the error codes and docs/api.md agree.

Plain functions: no server, no sockets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chatd import errors
from chatd.handlers import HANDLERS, load_all
from chatd.protocol import docgen
from chatd.protocol.envelope import JSON, Codec
from chatd.protocol.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).with_name("data") / "api_reference_000.txt"
SHARED_REFERENCE = ROOT.parent / "shared" / "seeds" / "000_acbcfdc292e75d04.txt"
KINDS = {"请求": "request", "推送": "push"}
FIELD_KEYS = {"type", "doc", "optional", "nullable", "default", "min", "max", "min_length", "max_length", "pattern", "enum"}
SCALARS = {"int", "float", "str", "bool", "any"}

IMPLEMENTED = [c for c in REGISTRY.commands.values() if c.implemented]
IMPLEMENTED_REQUESTS = [c for c in IMPLEMENTED if c.kind == "request"]


def reference_sections() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The API reference as [(section heading, [(name, wire, kind)])]."""
    sections: list[tuple[str, list[tuple[str, str, str]]]] = []
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()[2:]  # title and intro
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not line.startswith("|"):
            sections.append((line, []))
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 3 or cells[1] == "wire":
            continue  # the header row and the |---| separator
        name, wire, kind = cells
        assert kind in KINDS, f"unknown kind {kind!r} on {line!r}"
        sections[-1][1].append((name, wire, KINDS[kind]))
    return sections


def reference_commands() -> list[tuple[str, str, str]]:
    return [cmd for _, cmds in reference_sections() for cmd in cmds]


def _field_specs():
    for tname, tspec in REGISTRY.types.items():
        for fname, spec in (tspec.get("fields") or {}).items():
            yield f"types.{tname}.{fname}", spec
    for cmd in REGISTRY.commands.values():
        for part, fields in (("request", cmd.request), ("response", cmd.response)):
            for fname, spec in fields.items():
                yield f"{cmd.wire}.{part}.{fname}", spec


def _known_type(spec: str) -> bool:
    m = re.fullmatch(r"list\[(.+)\]", spec.strip())
    if m:
        return _known_type(m.group(1))
    return spec.strip() in SCALARS or spec.strip() in REGISTRY.types


# -- the API reference -------------------------------------------------------------------


def test_vendored_reference_is_the_shared_one():
    if not SHARED_REFERENCE.exists():
        pytest.skip(f"{SHARED_REFERENCE} is not present")
    assert REFERENCE.read_bytes() == SHARED_REFERENCE.read_bytes(), f"{REFERENCE} differs from {SHARED_REFERENCE}"


def test_reference_parses():
    commands = reference_commands()
    assert len(commands) > 100
    wires = [wire for _, wire, _ in commands]
    assert len(wires) == len(set(wires)), "a wire name is listed twice in the reference"


def test_every_reference_command_is_in_the_registry_with_its_name_and_kind():
    problems = []
    for name, wire, kind in reference_commands():
        cmd = REGISTRY.commands.get(wire)
        if cmd is None:
            problems.append(f"{wire}: missing from protocol.yaml")
            continue
        if cmd.name != name:
            problems.append(f"{wire}: named {cmd.name!r} in protocol.yaml, {name!r} in the reference")
        if cmd.kind != kind:
            problems.append(f"{wire}: kind {cmd.kind!r} in protocol.yaml, {kind!r} in the reference")
    assert not problems, "\n".join(problems)


def test_reference_sections_are_registry_groups():
    by_seed = {g["seed"]: g["id"] for g in REGISTRY.groups if g.get("seed")}
    problems = []
    for heading, cmds in reference_sections():
        group = by_seed.get(heading)
        if group is None:
            problems.append(f"section {heading!r}: no group in protocol.yaml has this seed")
            continue
        for _, wire, _ in cmds:
            cmd = REGISTRY.commands.get(wire)
            if cmd is not None and cmd.group != group:
                problems.append(f"{wire}: group {cmd.group!r} in protocol.yaml, section {heading!r} ({group}) in the reference")
    assert not problems, "\n".join(problems)


# -- registry and handlers ---------------------------------------------------------------


def test_implemented_requests_and_handlers_match():
    load_all()
    expected = {c.wire for c in IMPLEMENTED_REQUESTS}
    missing = sorted(expected - set(HANDLERS))
    extra = sorted(set(HANDLERS) - expected)
    assert not missing, f"implemented in protocol.yaml but no handler: {missing}"
    assert not extra, f"handlers for commands that are not implemented requests in protocol.yaml: {extra}"


def test_every_command_is_in_a_listed_group():
    groups = [g["id"] for g in REGISTRY.groups]
    assert len(groups) == len(set(groups)), "a group id is listed twice"
    stray = sorted(f"{c.wire} ({c.group})" for c in REGISTRY.commands.values() if c.group not in groups)
    assert not stray, f"commands whose group is not under groups: {stray}"


def test_command_names_are_unique():
    names = [c.name for c in REGISTRY.commands.values()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert not dupes, f"command names used twice: {dupes}"


# -- error codes -------------------------------------------------------------------------


def test_yaml_error_codes_equal_chatd_errors():
    yaml_codes = set(REGISTRY.errors)
    assert yaml_codes == set(errors.CODES), (
        f"only in protocol.yaml: {sorted(yaml_codes - errors.CODES)}; only in chatd/errors.py: {sorted(errors.CODES - yaml_codes)}"
    )


def test_command_errors_are_documented_codes():
    problems = [f"{c.wire}: {code}" for c in REGISTRY.commands.values() for code in c.errors if code not in REGISTRY.errors]
    assert not problems, f"error codes under a command's errors: that are not under errors: {problems}"


# -- fields and examples -----------------------------------------------------------------


def test_field_types_are_known():
    bad = [f"{where}: {spec.get('type')!r}" for where, spec in _field_specs() if not _known_type(str(spec.get("type", "")))]
    assert not bad, f"unknown field types: {bad}"


def test_field_specs_have_only_known_keys():
    bad = [f"{where}: {sorted(set(spec) - FIELD_KEYS)}" for where, spec in _field_specs() if set(spec) - FIELD_KEYS]
    assert not bad, "field specs with unknown keys (quote `doc:` values that contain a comma):\n" + "\n".join(bad)


def test_implemented_commands_have_summary_and_example():
    problems = []
    for cmd in IMPLEMENTED:
        want = {"request", "response"} if cmd.kind == "request" else {"push"}
        if not cmd.summary:
            problems.append(f"{cmd.wire}: no summary")
        if set(cmd.example) != want:
            problems.append(f"{cmd.wire}: example has {sorted(cmd.example)}, expected {sorted(want)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cmd", IMPLEMENTED_REQUESTS, ids=lambda c: c.wire)
def test_example_request_decodes(cmd):
    example = cmd.example["request"]
    assert example.get("cmd") == cmd.wire
    unknown = sorted(set(example.get("data") or {}) - set(cmd.request))
    assert not unknown, f"example request data has fields the command does not declare: {unknown}"
    req = Codec().decode(json.dumps(example, ensure_ascii=False).encode(), JSON)
    assert req.cmd == cmd.wire
    assert req.id == example.get("id")


@pytest.mark.parametrize("cmd", IMPLEMENTED, ids=lambda c: c.wire)
def test_example_response_or_push_matches_its_fields(cmd):
    if cmd.kind == "request":
        body = cmd.example["response"]
        assert body.get("id") == cmd.example["request"].get("id"), "the example response does not echo the request id"
        assert body.get("ok") is True
    else:
        body = cmd.example["push"]
        assert "id" not in body, "a push has no id"
    assert body.get("cmd") == cmd.wire
    unknown = sorted(set(body.get("data") or {}) - set(cmd.response))
    assert not unknown, f"example data has fields the command does not declare: {unknown}"


# -- the generated reference -------------------------------------------------------------


def test_docgen_is_deterministic():
    assert docgen.render() == docgen.render()


def test_api_md_is_up_to_date():
    expected = docgen.render()
    path = docgen.API_MD
    actual = path.read_text(encoding="utf-8") if path.exists() else ""
    if actual != expected:
        old, new = actual.splitlines(), expected.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        pytest.fail(
            f"{path.relative_to(ROOT)} is stale (first difference at line {line + 1}): "
            f"run `python -m chatd.protocol.docgen`",
            pytrace=False,
        )


def test_api_md_documents_every_command():
    text = docgen.render()
    for cmd in REGISTRY.commands.values():
        assert f"`{cmd.wire}`" in text, cmd.wire
        if cmd.implemented:
            assert f"### `{cmd.wire}`" in text, cmd.wire
    for code in REGISTRY.errors:
        assert f"| `{code}` |" in text, code


def test_docgen_check_mode(tmp_path, capsys):
    target = tmp_path / "api.md"
    assert docgen.main(["--check", "--output", str(target)]) == 1
    assert "stale" in capsys.readouterr().err
    assert docgen.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == docgen.render()
    assert docgen.main(["--check", "--output", str(target)]) == 0


def _anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_guide_links_into_the_reference_resolve():
    guide = ROOT / "docs" / "protocol.md"
    anchors = {_anchor(m.group(1)) for m in re.finditer(r"^#+ (.+)$", docgen.render(), re.M)}
    links = re.findall(r"\]\(api\.md#([^)]+)\)", guide.read_text(encoding="utf-8"))
    assert links, "docs/protocol.md links to no command in docs/api.md"
    broken = sorted({a for a in links if a not in anchors})
    assert not broken, f"docs/protocol.md links to sections docs/api.md does not have: {broken}"
