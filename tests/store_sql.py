"""Every SQL statement chatd.store passes to a connection, found statically (with `ast`): the
first argument of each `.execute(`, `.executemany(` and `.query(` call in chatd/store/*.py,
evaluated as far as its text is known. String constants, f-strings, concatenations and
`.format` are followed through local and module constants (and constants imported from other
store modules); a dynamic part with a few possible values (`a if c else b`, a name assigned in
several places, a dict of strings) gives one statement per value; `",".join("?" * n)` gives two
placeholders. A part that cannot be known this way takes its representative values from
SUBSTITUTIONS (by "module.function" and name: strings, or for a list joined by the statement a
list of its parts; names that go together, "a,b", take tuples); one missing there raises
`Dynamic`, naming it.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STORE = Path(__file__).resolve().parent.parent / "chatd" / "store"
# The SQLite schema's history; this layer itself; and the modules that speak PostgreSQL only
# (the connection, LISTEN, the copy, the search index and the nodes' events: tests/test_pg_*.py
# run them on PostgreSQL).
SKIPPED_MODULES = {"migrations", "dialect", "sql_tokens", "pg_schema", "pg", "pg_listen", "pg_copy", "pg_open", "search_pg", "directory_search_pg", "cluster"}
CALLS = {"execute", "executemany", "query"}
MAX_VARIANTS = 24

# Representative values of the dynamic parts the evaluation cannot follow: {"module.function": {name: [values]}}.
SUBSTITUTIONS: dict[str, dict[str, list[Any]]] = {
    "community.update": {"key": ["name", "description", "icon", "public", "join_mode"]},  # UPDATABLE
    "community.next_position": {"table": ["community_categories"], "where": ["community_id = ?"]},
    "conversations.entry_extra": {"table": ["groups", "rooms"]},
    "group._requests": {"where": ["r.id = ?", "r.conv_id = ? AND r.status = ?"], "tail": ["", "ORDER BY r.id DESC LIMIT ? OFFSET ?"]},
    "group.apply_update": {"key": ["avatar", "description", "join_by_id"]},
    "membership.member_count": {"table": ["groups", "rooms"]},
    "membership.owner_of": {"table": ["groups", "rooms"]},
    "membership.add": {"table": ["groups", "rooms"]},
    "membership.remove": {"table": ["groups", "rooms"]},
    "membership.set_owner": {"table": ["groups", "rooms"]},
    "membership.update_columns": {"table": ["groups", "rooms"], "column": ["avatar", "description"]},
    "message_reads.around": {"op": ["<", ">"], "order": ["ASC", "DESC"]},
    "message_reads._exists": {"op": ["<", ">"], "media": ["", " AND type IN (?,?) AND recalled_at IS NULL"]},
    "messages.page_by_time": {"cond": [["conv_id = ?", "created_at >= ?", "created_at <= ?", "id < ?"]]},
    "room.list_rooms": {"where": [["r.deleted_at IS NULL", "c.name LIKE ? ESCAPE '\\'", "m.user_id IS NOT NULL"]]},
    "room.apply_update": {"key": ["avatar", "description"]},  # UPDATABLE
    "room.sanction": {"column": ["banned_until", "muted_until"]},
    "social._blocks_among": {"found,given": [("user_id", "blocked_id"), ("blocked_id", "user_id")]},
    "social.list_add": {"table,col": [("blocks", "blocked_id"), ("dm_whitelist", "allowed_id")]},  # LISTS
    "social.list_remove": {"table,col": [("blocks", "blocked_id"), ("dm_whitelist", "allowed_id")]},
    "social.list_page": {"table,col": [("blocks", "blocked_id"), ("dm_whitelist", "allowed_id")]},
}


class Dynamic(Exception):
    pass


@dataclass(frozen=True)
class Statement:
    module: str
    function: str
    line: int
    sql: str

    @property
    def where(self) -> str:
        return f"{self.module}.{self.function}"

    def __str__(self) -> str:
        return f"{self.module}.py:{self.line} ({self.function}): {self.sql}"


class _Module:
    def __init__(self, name: str, tree: ast.Module):
        self.name = name
        self.tree = tree
        self.constants: dict[str, list[ast.expr]] = {}
        self.imports: dict[str, tuple[str, str | None]] = {}  # local name: (module, attribute or None)
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name):
                        self.constants.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                for alias in node.names:
                    if node.module:
                        self.imports[alias.asname or alias.name] = (node.module, alias.name)
                    else:
                        self.imports[alias.asname or alias.name] = (alias.name, None)


_MODULES: dict[str, _Module] = {}


def _module(name: str) -> _Module:
    if name not in _MODULES:
        path = STORE / f"{name}.py"
        _MODULES[name] = _Module(name, ast.parse(path.read_text(), str(path)))
    return _MODULES[name]


class _Evaluator:
    def __init__(self, module: _Module, function: ast.FunctionDef | None, where: str):
        self.module = module
        self.function = function
        self.where = where
        self.local: dict[str, list[tuple[str, ast.expr]]] = {}
        self.fixed: dict[str, str] = {}  # names that go together, fixed for one evaluation
        if function is not None:
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        self._bind(target, node.value, "=")
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    self._bind(node.target, node.value, "=")
                elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
                    self._bind(node.target, node.value, "+=")

    def _bind(self, target: ast.expr, value: ast.expr, how: str) -> None:
        if isinstance(target, ast.Name):
            self.local.setdefault(target.id, []).append((how, value))
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self._bind(t, v, how)

    def eval(self, node: ast.expr) -> list[str]:
        out = self._eval(node)
        return list(dict.fromkeys(out))[:MAX_VARIANTS]

    def _product(self, parts: list[list[str]]) -> list[str]:
        return ["".join(p) for p in itertools.islice(itertools.product(*parts), MAX_VARIANTS)]

    def _eval(self, node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
            return [str(node.value)]
        if isinstance(node, ast.JoinedStr):
            return self._product([self.eval(v.value) if isinstance(v, ast.FormattedValue) else self.eval(v) for v in node.values])
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._product([self.eval(node.left), self.eval(node.right)])
        if isinstance(node, ast.IfExp):
            return self.eval(node.body) + self.eval(node.orelse)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.module.imports:
            module, attr = self.module.imports[node.value.id]
            if attr is None and (STORE / f"{module}.py").exists():
                return _Evaluator(_module(module), None, self.where)._name(node.attr)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            found = [v for v in self.module.constants.get(node.value.id, []) if isinstance(v, ast.Dict)]
            if found:
                return [s for d in found for v in d.values if v is not None for s in self.eval(v)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return self._call(node)
        raise Dynamic(ast.unparse(node))

    def _call(self, node: ast.Call) -> list[str]:
        func = node.func
        assert isinstance(func, ast.Attribute)
        if func.attr == "join" and len(node.args) == 1:
            seps = self.eval(func.value)
            arg = node.args[0]
            parts = SUBSTITUTIONS.get(self.where, {}).get(arg.id) if isinstance(arg, ast.Name) else None
            if parts is not None:
                return [sep.join(p) for sep in seps for p in parts]  # type: ignore[arg-type]
            items = self._repeated(arg)
            return [sep.join(items) for sep in seps]
        if func.attr == "replace" and len(node.args) == 2:
            old, new = (self.eval(a)[0] for a in node.args)
            return [b.replace(old, new) for b in self.eval(func.value)]
        if func.attr == "format" and not node.args:
            bases = self.eval(func.value)
            names = [k.arg for k in node.keywords]
            values = itertools.product(*(self.eval(k.value) for k in node.keywords))
            return [b.format(**dict(zip(names, v))) for b in bases for v in values]  # type: ignore[arg-type]
        raise Dynamic(ast.unparse(node))

    def _repeated(self, node: ast.expr) -> list[str]:
        """The items of `"?" * n` or `["(?, ?)"] * n`: two of them."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            item = node.left
            if isinstance(item, ast.List) and len(item.elts) == 1:
                item = item.elts[0]
            (value,) = self.eval(item)[:1]
            return [value, value]
        if isinstance(node, ast.Name):
            for how, value in self.local.get(node.id, []):
                if how == "=" and isinstance(value, ast.BinOp):
                    return self._repeated(value)
        raise Dynamic(ast.unparse(node))

    def _name(self, name: str) -> list[str]:
        if name in self.fixed:
            return [self.fixed[name]]
        substitute = SUBSTITUTIONS.get(self.where, {}).get(name)
        if substitute is not None:
            return substitute
        if name in self.local:
            out: list[str] = []
            for how, value in self.local[name]:
                values = self.eval(value)
                out = [o + v for o in out for v in values] + out if how == "+=" else out + values
            return out
        if name in self.module.constants:
            return [s for v in self.module.constants[name] for s in self.eval(v)]
        if name in self.module.imports:
            module, attr = self.module.imports[name]
            if attr is not None and (STORE / f"{module}.py").exists():
                return _Evaluator(_module(module), None, self.where)._name(attr)
        raise Dynamic(name)


def _functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | None, ast.AST]]:
    """Each function (methods as Class.method) with its body; the module level as '<module>'."""
    out: list[tuple[str, ast.FunctionDef | None, ast.AST]] = []
    module_level = ast.Module(body=[n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))], type_ignores=[])
    out.append(("<module>", None, module_level))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out.append((node.name, node, node))
        elif isinstance(node, ast.ClassDef):
            out += [(f"{node.name}.{f.name}", f, f) for f in node.body if isinstance(f, ast.FunctionDef)]
    return out


def statements() -> tuple[list[Statement], list[tuple[str, int, str]]]:
    """The statements, and the calls whose SQL could not be known: (where, line, the unknown part)."""
    found: list[Statement] = []
    unknown: list[tuple[str, int, str]] = []
    for path in sorted(STORE.glob("*.py")):
        if path.stem in SKIPPED_MODULES:
            continue
        module = _module(path.stem)
        for fname, function, body in _functions(module.tree):
            where = f"{module.name}.{fname}"
            evaluator = _Evaluator(module, function, where)
            groups = [(key.split(","), values) for key, values in SUBSTITUTIONS.get(where, {}).items() if "," in key]
            combinations = [dict(p for names, value in combo for p in zip(names, value)) for combo in itertools.product(*([(n, v) for v in vs] for n, vs in groups))]
            for node in ast.walk(body):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS and node.args):
                    continue
                if isinstance(node.func.value, ast.Name) and node.func.value.id in {"re", "self"}:
                    continue
                variants = []
                try:
                    for fixed in combinations:
                        evaluator.fixed = fixed
                        variants += evaluator.eval(node.args[0])
                except Dynamic as e:
                    unknown.append((where, node.lineno, str(e)))
                    continue
                found += [Statement(module.name, fname, node.lineno, sql) for sql in dict.fromkeys(variants)]
    return found, unknown


def lastrowid_reads() -> list[tuple[str, int, list[str]]]:
    """Each read of `<cursor>.lastrowid` in chatd.store: (where, line, the SQL of the execute
    that made that cursor: the nearest assignment above it in the same function)."""
    out: list[tuple[str, int, list[str]]] = []
    for path in sorted(STORE.glob("*.py")):
        if path.stem in SKIPPED_MODULES:
            continue
        module = _module(path.stem)
        for fname, function, body in _functions(module.tree):
            evaluator = _Evaluator(module, function, f"{module.name}.{fname}")
            made: list[tuple[int, str, ast.expr]] = []  # (line, cursor name, SQL expression)
            for node in ast.walk(body):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
                    if node.value.func.attr == "execute" and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                        made.append((node.lineno, node.targets[0].id, node.value.args[0]))
            for node in ast.walk(body):
                if isinstance(node, ast.Attribute) and node.attr == "lastrowid" and isinstance(node.value, ast.Name):
                    name = node.value.id
                    line, _, sql = max(m for m in made if m[1] == name and m[0] <= node.lineno)
                    out.append((f"{module.name}.{fname}", node.lineno, evaluator.eval(sql)))
    return out
