"""SQL text as tokens, for chatd.store.dialect: the scanner (string literals, quoted names,
placeholders, words, blanks, operators; comments dropped) and the moves its rewrites make over
the token list (the next word, a parenthesis's partner, an operand's extent)."""

from __future__ import annotations

import re


class Untranslatable(ValueError):
    """A statement with no mechanical PostgreSQL translation; the message says why."""


TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\?\d*|\w+|\s+|\|\||==|!=|<>|<=|>=|.""", re.S)


def tokens_of(sql: str) -> list[str]:
    """The tokens of a statement; joined, they give it back without its comments."""
    return [t for t in TOKEN.findall(sql) if not t.startswith("--")]


def word(token: str) -> str:
    """A word token in upper case ('' for any other token)."""
    return token.upper() if token[:1].isalpha() or token[:1] == "_" else ""


def next_token(tokens: list[str], i: int) -> int:
    """The index of the first non-blank token at or after i (len(tokens) if none)."""
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    return i


def closing(tokens: list[str], i: int) -> int:
    """tokens[i] is '(': the index of its ')'."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j] == "("
        depth -= tokens[j] == ")"
        if depth == 0:
            return j
    raise Untranslatable("unbalanced parentheses")


def top_level_commas(tokens: list[str], start: int, end: int) -> int:
    depth = commas = 0
    for t in tokens[start:end]:
        depth += (t == "(") - (t == ")")
        commas += t == "," and depth == 0
    return commas


def operand_end(tokens: list[str], i: int) -> int:
    """The index just past the primary operand starting at i (a placeholder, literal, name
    (qualified or not), or a parenthesised expression or call)."""
    i = next_token(tokens, i)
    if i >= len(tokens):
        raise Untranslatable("an operator with no operand")
    if tokens[i] == "(":
        return closing(tokens, i) + 1
    j = i + 1
    while j + 1 < len(tokens) and tokens[j] == "." and word(tokens[j + 1]):
        j += 2
    if j < len(tokens) and tokens[j] == "(" and word(tokens[i]):
        return closing(tokens, j) + 1
    return j


def top_level(tokens: list[str], keyword: str, start: int = 0) -> int | None:
    """The index of the first `keyword` at or after start outside parentheses (None if none)."""
    depth = 0
    for j in range(start, len(tokens)):
        depth += (tokens[j] == "(") - (tokens[j] == ")")
        if depth == 0 and word(tokens[j]) == keyword:
            return j
    return None


def operand_start(tokens: list[str], end: int) -> int:
    """The index where the operand ending just before `end` (a name, qualified or not, or a
    parenthesised expression or call) begins."""
    i = end - 1
    while i >= 0 and tokens[i].isspace():
        i -= 1
    if i < 0:
        raise Untranslatable("an operator with no operand")
    if tokens[i] == ")":
        depth = 0
        while i >= 0:
            depth += (tokens[i] == ")") - (tokens[i] == "(")
            if depth == 0:
                break
            i -= 1
        return i - 1 if i > 0 and word(tokens[i - 1]) else i
    while i >= 2 and tokens[i - 1] == "." and word(tokens[i - 2]):
        i -= 2
    return i


def previous(tokens: list[str], i: int) -> str:
    """The last non-blank token before i ('' if none)."""
    j = i - 1
    while j >= 0 and tokens[j].isspace():
        j -= 1
    return tokens[j] if j >= 0 else ""
