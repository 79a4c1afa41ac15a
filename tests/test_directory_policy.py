"""chatd.policy.directory and chatd.names: the directory's pure rules and the pinyin of names."""

from __future__ import annotations

import pytest

from chatd import names
from chatd.errors import ChatError
from chatd.policy import directory as policy


@pytest.mark.parametrize(
    ("is_admin", "is_directory_admin", "allowed"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
)
def test_writes_are_for_admins_and_directory_admins(is_admin, is_directory_admin, allowed):
    assert policy.may_write(is_admin, is_directory_admin) is allowed
    if allowed:
        policy.require_write(is_admin, is_directory_admin)
    else:
        with pytest.raises(ChatError) as exc:
            policy.require_write(is_admin, is_directory_admin)
        assert exc.value.code == "forbidden"


def test_every_user_reads():
    assert policy.may_read()


# The surname readings the libraries' defaults get wrong.
SURNAMES = [("曾国藩", "zeng"), ("单田芳", "shan"), ("解缙", "xie"), ("区伟", "ou"), ("仇英", "qiu"), ("查良镛", "zha"), ("朴槿惠", "piao")]


@pytest.mark.parametrize(("name", "surname"), SURNAMES)
def test_surnames_are_read_as_surnames(name, surname):
    readings = names.name_readings(name)
    assert readings[0][0] == surname
    assert all(r[0] == surname for r in readings)  # no variant reads the surname otherwise
    terms = names.terms(name)
    assert surname + "".join(readings[0][1:]) in terms
    assert "".join(s[0] for s in readings[0]) in terms


def test_a_given_name_is_read_as_a_phrase_and_its_heteronyms_are_variants_capped():
    assert names.name_readings("张三")[0] == ["zhang", "san"]
    readings = names.name_readings("乐长行")
    assert readings[0][0] == "yue" and len(readings) <= names.MAX_VARIANTS
    joined = {"".join(r) for r in readings}
    assert {"yuezhangxing", "yuechangxing", "yuezhanghang"} <= joined  # 长 and 行 are heteronyms
    many = "行长行长行长行长"
    assert len(names.name_readings(many)) == names.MAX_VARIANTS


def test_compound_surnames():
    assert names.name_readings("万俟卨")[0][:2] == ["mo", "qi"]
    assert "卨" in names.terms("万俟卨")


def test_names_in_letters():
    assert names.terms("John Smith") == ["john", "smith", "johnsmith", "js"]


def test_query_forms():
    assert names.query_forms("zhang s") == [["zhang", "s"], ["zhangs"]]
    assert ["zhangs"] in names.query_forms("张s")
    assert names.query_forms("曾")[1] == ["zeng"]  # the surname reading first
    assert names.query_forms("  ,; ") == []
    assert len(names.query_forms("行长行长行长")) <= names.MAX_VARIANTS + 2
