import pytest

from rectify_core.vocab import DONE, ONGOING, OPEN, UnknownStatus, normalise


@pytest.mark.parametrize(("text", "code"), [
    ("已完成", DONE), ("已完成整改", DONE), ("完成整改", DONE), ("已整改", DONE),
    ("已销号", DONE), ("已完成。", DONE), ("已完成，下一步持续巩固", DONE),
    ("基本完成", ONGOING), ("阶段性完成", ONGOING), ("持续推进", ONGOING),
    ("基本完成取得阶段性成果并持续整改", ONGOING), ("长期坚持", ONGOING),
    ("正在整改", OPEN), ("整改中", OPEN), ("未整改", OPEN), ("未完成", OPEN),
    # the wording "in progress" (…中): its own meaning, not that of …中 as a whole
    ("持续推进中", ONGOING), ("持续整改中", ONGOING), ("推进中", OPEN), ("正在推进中", OPEN),
])
def test_vocabulary(text: str, code: str) -> None:
    assert normalise(text) == code


@pytest.mark.parametrize("text", ["差不多了", "完成了一半", "已", "中"])
def test_unknown_word_is_an_error(text: str) -> None:
    with pytest.raises(UnknownStatus, match="无法识别的完成情况"):
        normalise(text)
