"""Search terms of a person's name for the enterprise directory: the name's words, its pinyin
(whole and as initials) with surnames read as surnames, and the variants of other heteronyms.
Pure: no trio, no sqlite3 (chatd.store.directory_search puts the terms into FTS5).

pypinyin reads a name's first character as an ordinary word, which is wrong for the surnames
whose surname reading differs (曾 is zeng as a surname, ceng otherwise): SURNAMES holds those
readings, and compound surnames, and is asked first.
"""

from __future__ import annotations

import itertools
import re

from pypinyin import Style, lazy_pinyin, pinyin

# Surname readings that differ from the common reading (the first is the one used); compound
# surnames first, so that 万俟 is read moqi before 万 is read alone.
SURNAMES: dict[str, tuple[str, ...]] = {
    "万俟": ("mo", "qi"),
    "尉迟": ("yu", "chi"),
    "长孙": ("zhang", "sun"),
    "澹台": ("tan", "tai"),
    "单于": ("chan", "yu"),
    "曾": ("zeng",),
    "单": ("shan",),
    "解": ("xie",),
    "区": ("ou",),
    "仇": ("qiu",),
    "查": ("zha",),
    "朴": ("piao",),
    "盖": ("ge",),
    "乐": ("yue",),
    "覃": ("qin",),
    "翟": ("zhai",),
    "缪": ("miao",),
    "种": ("chong",),
    "秘": ("bi",),
    "召": ("shao",),
    "员": ("yun",),
    "那": ("na",),
    "隗": ("wei",),
    "宓": ("mi",),
    "折": ("she",),
    "繁": ("po",),
    "黑": ("he",),
    "句": ("gou",),
    "牟": ("mou",),
    "莘": ("shen",),
    "谌": ("chen",),
    "蕃": ("pi",),
    "重": ("chong",),
    "华": ("hua",),
    "纪": ("ji",),
    "任": ("ren",),
    "沈": ("shen",),
    "石": ("shi",),
    "薄": ("bo",),
    "曲": ("qu",),
    "柏": ("bai",),
    "贲": ("ben",),
    "卜": ("bu",),
    "过": ("guo",),
    "郇": ("xun",),
    "阚": ("kan",),
}
_COMPOUND = sorted((s for s in SURNAMES if len(s) > 1), key=len, reverse=True)

MAX_READINGS_PER_CHAR = 3  # heteronym readings kept for one character
MAX_VARIANTS = 8  # whole-name readings indexed, the usual one first

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\w\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def words(text: str) -> list[str]:
    """The lowercase words of a text: runs of letters, digits and Han characters."""
    return [w.lower() for w in _WORD.findall(text.replace("_", " "))]


def _char_readings(ch: str) -> list[str]:
    if not _HAN.match(ch):
        return [ch.lower()]
    readings = pinyin(ch, style=Style.NORMAL, heteronym=True)[0]
    return [r.lower() for r in readings[:MAX_READINGS_PER_CHAR]]


def name_readings(name: str) -> list[list[str]]:
    """The readings of a Han name as syllable lists, the usual one first, then the variants of
    its heteronyms, at most MAX_VARIANTS. The surname (its first character, or a compound
    surname) is read as a surname; the rest as pypinyin reads the phrase."""
    name = "".join(_HAN.findall(name))
    if not name:
        return []
    surname = next((s for s in _COMPOUND if name.startswith(s)), name[0])
    rest = name[len(surname) :]
    head = list(SURNAMES.get(surname, ())) or [s.lower() for s in lazy_pinyin(surname)]
    usual = head + [s.lower() for s in lazy_pinyin(rest)] if rest else head
    out = [usual]
    if surname in SURNAMES:
        options = [[syl] for syl in head]
    else:
        options = [_char_readings(ch) for ch in surname]
    options += [_char_readings(ch) for ch in rest]
    for combo in itertools.product(*options):
        if len(out) >= MAX_VARIANTS:
            break
        reading = list(combo)
        if reading not in out:
            out.append(reading)
    return out


def terms(name: str) -> list[str]:
    """The search terms of a name: its words and, for a Han name, its given name, its pinyin
    syllables, the joined pinyin and the initials of every reading; for a name in letters,
    the joined words and their initials."""
    out: list[str] = []
    ws = words(name)
    out += ws
    if len(ws) > 1:
        out.append("".join(ws))
        out.append("".join(w[0] for w in ws))
    han = "".join(_HAN.findall(name))
    if len(han) > 1:
        surname = next((s for s in _COMPOUND if han.startswith(s)), han[0])
        out.append(han[len(surname) :])
    for reading in name_readings(name):
        out += reading
        out.append("".join(reading))
        out.append("".join(s[0] for s in reading))
    return list(dict.fromkeys(t for t in out if t))


def query_forms(query: str) -> list[list[str]]:
    """What a typed query may mean, each a list of word prefixes that must all match: its words
    as typed, the words joined (`zhang s` is `zhangs`), and with Han characters turned into
    pinyin (`张s` is `zhangs`), every reading of a heteronym tried (capped)."""
    ws = words(query)
    if not ws:
        return []
    forms = [ws]
    if len(ws) > 1:
        forms.append(["".join(ws)])
    if has_han(query):
        joined = "".join(ws)
        options = []
        for i, ch in enumerate(joined):
            if _HAN.match(ch):
                first = list(SURNAMES.get(ch, ())) if i == 0 else []
                options.append(list(dict.fromkeys(first + _char_readings(ch))))
            else:
                options.append([ch])
        for combo in itertools.islice(itertools.product(*options), MAX_VARIANTS):
            forms.append(["".join(combo)])
    return [list(f) for f in dict.fromkeys(tuple(f) for f in forms)]
