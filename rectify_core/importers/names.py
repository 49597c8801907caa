"""People named in running text: a name is only a name when it is one.

A name is 2–4 Han characters, right after a title (党组书记陈学文…, 书记、局长王某某同志…)
and before 同志 or a verb. A title fragment such as 局党委书记、局长切实履行… names nobody:
it is refused, and the audit says so, instead of recording "长切实" as a person.
"""

from __future__ import annotations

import re

from rectify_core.importers.source import Line

_TITLE = (r"[^,，。、;；]{0,8}?(?:书记|局长|主任|组长|主席|经理|院长|校长|委员|部长|处长|县长|区长|市长|"
          r"镇长|乡长|站长|所长|队长|社长|董事长|行长|检察长|庭长|关长|台长|厅长|司长|署长)")
_VERBS = ("同志", "切实", "认真", "履行", "亲自", "带头", "坚决", "主动", "扛", "担任", "负责", "作为", "坚持",
          "抓", "牵头", "是", "为", "对", "要", "全面", "始终", "充分", "高度", "直接", "严格", "积极", "落实")
_NAMED = re.compile(r"(?:党组|党委|党工委|党总支|党支部)副?书记(?:、" + _TITLE + r")*"
                    r"(?P<name>[\u4e00-\u9fa5]{2,4}?)(?=" + "|".join(_VERBS) + ")")
_HAN = re.compile(r"[\u4e00-\u9fa5]{2,4}")
# characters that begin titles and offices, never a surname here
_NOT_A_START = set("局长党组委书记副主任处科股室部办")


def is_name(text: str) -> bool:
    """2–4 Han characters, not a title fragment and no verb inside."""
    return (bool(_HAN.fullmatch(text)) and text[0] not in _NOT_A_START
            and not any(v in text for v in _VERBS))


def looks_like_title(text: str) -> bool:
    """A title or a verb phrase where a name should be (局长, 长切实), as opposed to a name
    or a department."""
    return bool(_HAN.fullmatch(text)) and (text[0] in "局长书记副" or any(v in text for v in _VERBS))


def first_responsible(line: Line) -> tuple[str | None, str | None]:
    """The first responsible (第一责任人) named in a line, as written; or, when the
    line names that role with no recognisable name, the refused text."""
    text = line.text
    for sentence in re.finditer(r"[^。]*第一责任人[^。]*", text):
        start, end = sentence.span()
        for m in _NAMED.finditer(text, start, end):
            if is_name(m["name"]):
                return line.orig[m.start("name"):m.end("name")], None
        if (pos := text.find("书记", start, end)) >= 0:
            stop = text.find("第一责任人", pos, end)
            return None, line.orig[max(start, pos - 6):stop + 5][:60]
    return None, None
