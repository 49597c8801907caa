"""Parser for published progress reports (整改进展情况报告 / 通报).

A line-by-line state machine over (working copy, original) lines. Most real reports
have two parts: an organisational part (一、提高政治站位… with paragraphs （一）加强组织
领导。…) and the problem part (二、问题整改情况, or straight away （一）关于…方面). The
preamble and the organisational part give the round (unit, inspector, feedback date),
the summary sentences and the first responsible; the problem part gives aspects,
topics and items; a closing summary, a signature or a 下一步 section ends the items.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rectify_core.deadlines.datetext import DateTextError, cn_int, find_dates
from rectify_core.errors import InputError, Problem
from rectify_core.importers.fields import REPORT_FIELDS, apply_field, finish_item
from rectify_core.importers.parsed import ParsedHeading, ParsedItem, ParsedLedger
from rectify_core.importers.source import Line
from rectify_core.names import first_responsible

CN = "一二三四五六七八九十百零〇两"
_SECTION = re.compile(rf"^([{CN}]+)\s*[、.]\s*(.*)$")
_PAREN_CN = re.compile(rf"^\(\s*([{CN}]+)\s*\)\s*[、.]?\s*(.*)$")
_TOPIC = re.compile(r"^(\d{1,3})\s*[.、]\s*(?!\d)(.*)$")
_ITEM_WORD = re.compile(rf"^问题\s*([{CN}]+|\d+)\s*[:.、]\s*(.*)$")
_ITEM_PAREN = re.compile(r"^\(\s*(\d{1,3})\s*\)\s*[、.]?\s*(.*)$")
# other ways offices number their problems: ① ② ③, and prose 第一，… 第二，…
_ITEM_CIRCLED = re.compile(r"^([\u2460-\u2473])\s*[、.]?\s*(.*)$")
_ITEM_ORDINAL = re.compile(rf"^第([{CN}]+)\s*[,、:]\s*(.*)$")
_CLOSING = re.compile(r"下一步|下步|下阶段|今后|工作打算|工作安排|工作计划|存在的困难")
# a section that holds the problems, as opposed to the organisational part
_PROBLEM_PART = re.compile(r"问题(?:的)?整改|整改(?:进展|完成|落实)情况|反馈(?:意见|问题)|具体问题|方面")
_ORGANISATIONAL = re.compile(r"组织|领导|责任|站位|认识|部署|机制|总体|基本情况|工作开展")
_FIELD = re.compile(
    "(" + "|".join(sorted(map(re.escape, REPORT_FIELDS), key=len, reverse=True)) + r")\s*[:]"
)
_SUMMARY = re.compile(r"\d+\s*个(?:方面|问题)|[已完成整改正在阶段性基本]+[^,。;]*?\d+\s*个|完成率")
# 截至2026年2月28日，巡察反馈的3个方面8个问题，已完成整改5个… after the last item
_CLOSING_SUMMARY = re.compile(r"^(?:截至|截止|目前|至此|综上)[^。]{0,40}?反馈[^。]{0,12}?\d+\s*个(?:方面|问题)")
_DATE = r"(\d{4})年(\d{1,2})月(\d{1,2})日"
_INSPECT = "巡[察视]"
_PERIOD = re.compile(_DATE + r"\s*(?:至|-|—|到)\s*(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日")
_GROUP = re.compile(rf"(?P<who>[^,。;]*?{_INSPECT}组)[^,。;]{{0,16}}?对(?P<unit>[^,。;]+?)(?:开展|进行|实施)了?"
                    rf"(?:为期[^,。;]*?的)?(?:常规|专项|机动|提级|交叉|政治|联动|延伸|[^,。;]{{0,4}}?)*{_INSPECT}")
_FEEDBACK = re.compile(_DATE + rf"[,\s]*(?P<rest>[^。;]*?)反馈(?:了)?(?:{_INSPECT}|有关|相关)?(?:意见|问题|情况)")
_FEEDBACK_TO = re.compile(r"向(?P<unit>[^,。;]+?)(?:集中|进行|作)?反馈")
# a feedback date without its year (9月3日，…反馈了巡察意见): the report's year, said so
_FEEDBACK_NO_YEAR = re.compile(rf"(?<![年\d])(\d{{1,2}})月(\d{{1,2}})日[,\s]*(?P<rest>[^。;]*?)反馈(?:了)?"
                               rf"(?:{_INSPECT}|有关|相关)?(?:意见|问题|情况)")
_AS_OF = re.compile(r"截[至止]\s*" + _DATE)
_DATE_LINE = re.compile(r"^" + _DATE + r"$")
_SIGNATURE = re.compile(r"(党组|党委|党工委|党总支|党支部|委员会|局|办公室|政府|中心|公司|学校|医院)$")
# an item's title ends where its measures begin: at 一是, or at the end of its first sentence
_INLINE = re.compile(r"。\s*(?=\S)|(?<=\S)(?=一是)")


@dataclass
class _State:
    source: str
    ledger: ParsedLedger
    line_word: str = "行"
    plain_items: bool = False  # no 问题N / (N) anywhere: 1. 1、 under a heading are the problems
    problems: list[Problem] = field(default_factory=list)
    item: ParsedItem | None = None
    field_name: str | None = None
    field_text: list[tuple[str, str]] = field(default_factory=list)
    field_line: int = 0
    line_no: int = 0
    in_items: bool = False
    problem_part: bool = False
    done: bool = False
    aspect_no: int | None = None
    topic_no: int | None = None
    year: int | None = None
    feedback_day: tuple[int, int] | None = None  # (month, day) of a feedback date written without a year
    visit: bool = False  # the text speaks of 巡视, not 巡察
    item_style: str = ""  # how the open item was numbered: word | paren | circled | plain


def _date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _flush_field(s: _State) -> None:
    if s.item is not None and s.field_name is not None:
        apply_field(s.item, s.field_name, "".join(w for w, _ in s.field_text), s.year, s.problems,
                    f"第{s.field_line}{s.line_word}", original="".join(o for _, o in s.field_text))
    s.field_name, s.field_text = None, []


def _close_item(s: _State) -> None:
    _flush_field(s)
    if s.item is not None:
        finish_item(s.item)
        first = next((i for i in s.ledger.items if i.no == s.item.no), None)
        if first is not None:
            s.problems.append(Problem(s.item.where, f"问题编号{s.item.no}重复（{first.where}已有）"))
        s.ledger.items.append(s.item)
    s.item = None


def _open_item(s: _State, line: Line, m: re.Match[str], running: bool) -> None:
    """`running`: "(1)" items restart under each topic, so they are numbered across
    the report in order of appearance. Measures written on the title's own line
    (（1）落实…。一是…) are split off."""
    _close_item(s)
    s.in_items = s.problem_part = True
    where = f"第{s.line_no}{s.line_word}"
    try:
        no = len(s.ledger.items) + 1 if running else cn_int(m[1])
    except ValueError:
        s.problems.append(Problem(where, f"无法识别的问题编号“{m[1]}”"))
        return
    start, end = m.start(2), m.end(2)
    cut = _INLINE.search(line.text, start, end)
    title_end = cut.start() + (1 if cut and line.text[cut.start()] == "。" else 0) if cut else end
    title, title_orig = line.span(start, title_end)
    s.item = ParsedItem(no=no, title=title_orig.rstrip("。") if cut else title_orig, where=where,
                        line=s.line_no, aspect_no=s.aspect_no, topic_no=s.topic_no)
    if not title:
        s.problems.append(Problem(where, f"问题{no}缺少问题内容"))
    if cut is not None and line.text[cut.end():end].strip():
        _add_text(s, line, cut.end())


def _add_text(s: _State, line: Line, start: int = 0) -> None:
    """Text inside an item: labelled fields, or a continuation of the open field.
    An unlabelled line right after the title is taken as the measures."""
    assert s.item is not None
    pos = start
    for m in _FIELD.finditer(line.text, start):
        before = line.span(pos, m.start(), " ;；")
        if before[0]:
            _continue(s, before)
        _flush_field(s)
        s.field_name, s.field_line = REPORT_FIELDS[m.group(1)], s.line_no
        pos = m.end()
    rest = line.span(pos, len(line.text))
    if rest[0]:
        _continue(s, rest)


def _continue(s: _State, text: tuple[str, str]) -> None:
    if s.field_name is None:
        s.field_name, s.field_line = "measures", s.line_no
    s.field_text.append(text)


def _heading(s: _State, kind: str, line: Line, m: re.Match[str]) -> None:
    _close_item(s)
    no = cn_int(m[1])
    label = f"({m[1]})" if kind == "aspect" else f"{m[1]}."
    title = line.span(m.start(2), m.end(2))[1]
    heading = ParsedHeading(no=no, title=title, label=label, line=s.line_no,
                            aspect_no=s.aspect_no if kind == "topic" else None)
    if kind == "aspect":
        s.ledger.aspects.append(heading)
        s.aspect_no, s.topic_no = no, None
    else:
        s.ledger.topics.append(heading)
        s.topic_no = no
    s.in_items = s.problem_part = True


def _section(s: _State, line: Line, m: re.Match[str]) -> None:
    """一、二、…: enters the problem part, ends the items (下一步…), or is organisational."""
    title = m[2]
    if _CLOSING.search(title) and s.in_items:
        _close_item(s)
        s.done = True
    elif "方面" in title or title.rstrip("。").endswith("问题"):
        _heading(s, "aspect", line, m)
    elif _PROBLEM_PART.search(title) and not _ORGANISATIONAL.search(title):
        _close_item(s)
        s.problem_part, s.aspect_no, s.topic_no = True, None, None
    else:
        _close_item(s)
        s.problem_part = False
        _preamble(s, line)


def _is_aspect(s: _State, title: str) -> bool:
    """（一）… is an aspect in the problem part, or anywhere when its heading names one
    (…方面/…问题); in the organisational part it is a paragraph (（一）加强组织领导。…)."""
    if s.problem_part:
        return True
    head, _, rest = title.partition("。")
    if rest.strip():
        return False
    return ("方面" in head and not re.search(r"\d+\s*个方面", head)) or head.endswith("问题")


def _line(s: _State, line: Line, paren_items: bool) -> None:
    text = line.text
    if (m := _SECTION.match(text)) and not text.startswith("问题"):
        _section(s, line, m)
        return
    if (m := _PAREN_CN.match(text)) and _is_aspect(s, m[2]):
        _heading(s, "aspect", line, m)
        return
    if m := _ITEM_WORD.match(text):
        s.item_style = "word"
        _open_item(s, line, m, running=False)
        return
    in_problems = s.problem_part or s.aspect_no is not None or s.topic_no is not None
    if (m := _ITEM_PAREN.match(text)) and paren_items and in_problems and not _sub_point(s, "paren"):
        s.item_style = "paren"
        _open_item(s, line, m, running=True)
        return
    # ① reads as 1 in the working copy: the circle is seen as written (same length)
    if in_problems and ((m := _ITEM_CIRCLED.match(line.orig)) or (m := _ITEM_ORDINAL.match(text))) \
            and not _sub_point(s, "circled"):
        s.item_style = "circled"
        _open_item(s, line, m, running=True)
        return
    m = _TOPIC.match(text)
    if m and s.plain_items and in_problems and not _is_topic(m[2]) and not _sub_point(s, "plain"):
        s.item_style = "plain"
        _open_item(s, line, m, running=True)  # numbers may restart under each heading
        return
    if m and s.problem_part and ((s.item is None and s.aspect_no is not None) or _is_topic(m[2])):
        _heading(s, "topic", line, m)
        return
    if s.item is not None:
        _add_text(s, line)
    elif not s.problem_part or not s.in_items:
        _preamble(s, line)


def _sub_point(s: _State, style: str) -> bool:
    """A numbered line inside an item's 整改措施/整改情况/完成情况 block, numbered otherwise than
    the items are (① under （1）, （1） under 1.): a point of that block, not a problem."""
    if s.item is None or style == s.item_style:
        return False
    return s.field_name is not None or (style == "paren" and s.item_style == "plain")


def _is_topic(text: str) -> bool:
    return text.startswith("关于") or text.endswith(("方面", "问题", "问题的整改"))


# a half-width full stop between a Han character and the next sentence (巡察.2025年1月7日)
# ends the sentence, as 。 does: the feedback sentence is not run into the inspection's
_HALF_STOP = re.compile(r"(?<=[\u4e00-\u9fff])\.(?=[\u4e00-\u9fff\d])")


def _preamble(s: _State, line: Line) -> None:
    """Before the items, and in the organisational part: the round, summaries, the
    first responsible."""
    ledger, text = s.ledger, _HALF_STOP.sub("。", line.text)  # (same length: the spans still hold)
    if (m := _GROUP.search(text)) and ledger.inspector is None:
        who = line.span(m.start("who"), m.end("who"))
        ledger.inspector = _after_dates(who)
        ledger.unit = ledger.unit or line.span(m.start("unit"), m.end("unit"))[1]
        if (p := _PERIOD.search(text)) and ledger.inspection_start is None:
            ledger.inspection_start = _date(p[1], p[2], p[3])
            ledger.inspection_end = _date(p[4] or p[1], p[5], p[6])
    s.visit = s.visit or ("巡视" in text and s.item is None)
    feedback = _FEEDBACK.search(text) or (_FEEDBACK_NO_YEAR.search(text) if s.feedback_day is None else None)
    if feedback and ledger.feedback_date is None:
        if feedback.re is _FEEDBACK:
            ledger.feedback_date = _date(feedback[1], feedback[2], feedback[3])
        else:
            s.feedback_day = (int(feedback[1]), int(feedback[2]))
        if not ledger.unit and (to := _FEEDBACK_TO.search(text, feedback.start("rest"), feedback.end())):
            ledger.unit = line.span(to.start("unit"), to.end("unit"))[1]
    if (m := _AS_OF.search(text)) and ledger.as_of is None:
        ledger.as_of = _date(m[1], m[2], m[3])
    if "第一责任人" in text and not any(r == "first_responsible" for _, r in ledger.people):
        name, refused = first_responsible(line.text, line.orig)
        if name:
            ledger.people.append((name, "first_responsible"))
        elif refused:
            ledger.refused_names.append((s.line_no, refused))
    if _SUMMARY.search(text) and ("问题" in text or "整改" in text):
        ledger.summary.append((s.line_no, text))
    for mention in find_dates(text, None)[-1:]:
        s.year = mention.year


def _after_dates(span: tuple[str, str]) -> str:
    """'2024年9月6日至11月20日,区委第三巡察组' -> '区委第三巡察组' (as written)."""
    work, orig = span
    cut = max(work.rfind(","), work.rfind("日"), work.rfind("月"))
    return orig[cut + 1:].strip() if cut >= 0 else orig


# a web page's footer, in text copied from a site: the items end there
_PAGE_FOOTER = re.compile(r"^(?:【?\s*(?:分享到|打印本页|打印|关闭窗口|关闭|返回顶部|收藏)|"
                          r".*(?:版权所有|ICP备|网站标识码|公网安备|网站地图|主办单位|承办单位|技术支持|联系我们|"
                          r"扫一扫|政务新媒体))")


def _ends_items(lines: list[Line], idx: int) -> bool:
    """A closing summary, a signature (unit line, then a date line), or a web page's
    footer after the items."""
    text = lines[idx].text
    if _CLOSING_SUMMARY.match(text) or _PAGE_FOOTER.match(text):
        return True
    if _DATE_LINE.match(text):
        return True
    nxt = next((ln.text for ln in lines[idx + 1:] if ln.text), "")
    return bool(_SIGNATURE.search(text) and len(text) <= 40 and not re.search(r"[,，。;；:：]", text)
                and _DATE_LINE.match(nxt))


def _trailer(s: _State, lines: list[Line]) -> None:
    """Signature and date at the end: the unit's full name and the report date."""
    tail = [ln for ln in lines[-6:] if ln.text]
    for i, line in enumerate(tail):
        if m := _DATE_LINE.match(line.text):
            s.ledger.report_date = _date(m[1], m[2], m[3])
            if i > 0 and _SIGNATURE.search(tail[i - 1].text):
                s.ledger.unit = re.sub(r"^中共", "", tail[i - 1].orig)


def parse_report(lines: list[Line], source: str, sha256: str, fallback_name: str,
                 line_word: str = "行") -> ParsedLedger:
    """Lines of a report -> ParsedLedger, or InputError with every problem."""
    ledger = ParsedLedger(source_name=source, sha256=sha256, unit="", round_name="")
    s = _State(source=source, ledger=ledger, line_word=line_word)
    paren_items = not any(_ITEM_WORD.match(ln.text) for ln in lines)
    s.plain_items = paren_items and _plain_first(lines)
    for idx, line in enumerate(lines):
        if not line.text:
            continue
        if s.done:
            if _another_problem(lines, idx):  # never dropped without a word
                s.problems.append(Problem(f"第{idx + 1}{line_word}", _AFTER_END.format(line.orig[:30])))
                break
            continue
        s.line_no = idx + 1
        if s.in_items and (s.ledger.items or s.item is not None) and _ends_items(lines, idx):
            _close_item(s)
            s.done = True
            if _SUMMARY.search(line.text):
                ledger.summary.append((s.line_no, line.text))
            continue
        try:
            _line(s, line, paren_items)
        except DateTextError as exc:
            s.problems.append(Problem(f"第{s.line_no}{line_word}", str(exc)))
    _close_item(s)
    _trailer(s, lines)
    _feedback_year(s)
    _name_round(ledger, fallback_name, s.visit)
    if not ledger.items and not s.problems:
        s.problems.append(Problem("", "未识别出任何问题条目（应有“问题1：”或“（1）”等编号）"))
    if s.problems:
        raise InputError(source, s.problems)
    return ledger


_AFTER_END = ("问题清单已在前面结束（总结句、落款或“下一步”之后），这里又出现编号的问题“{}”：可能是另一个单位的部分。"
              "请把各单位的材料分开导入，或改用每个单位一行的台账")


def _another_problem(lines: list[Line], idx: int) -> bool:
    """A problem after the list ended: 问题N：, or （N） with 整改情况/完成情况 in the lines after it."""
    text = lines[idx].text
    if _ITEM_WORD.match(text):
        return True
    return bool(_ITEM_PAREN.match(text)) and any(
        ln.text.startswith(("整改情况", "完成情况", "整改措施")) for ln in lines[idx + 1:idx + 6])


def _plain_first(lines: list[Line]) -> bool:
    """Problems numbered 1. 1、 (not （1）): no （1） line, or the first plain-numbered line
    that is not a topic comes before the first （1） (which are then its sub-points)."""
    paren = next((n for n, ln in enumerate(lines) if _ITEM_PAREN.match(ln.text)), None)
    if paren is None:
        return True
    plain = next((n for n, ln in enumerate(lines) if (m := _TOPIC.match(ln.text)) and not _is_topic(m[2])), None)
    return plain is not None and plain < paren


def _feedback_year(s: _State) -> None:
    """A feedback date written without its year takes the report's (the year before, when
    the day would fall after the report), and the import says so."""
    ledger = s.ledger
    if ledger.feedback_date is not None or s.feedback_day is None:
        return
    anchor = ledger.report_date or ledger.as_of or (dt.date(s.year, 12, 31) if s.year else None)
    if anchor is None:
        return
    month, day = s.feedback_day
    found = _date(str(anchor.year), str(month), str(day))
    if found is not None and found > anchor:
        found = _date(str(anchor.year - 1), str(month), str(day))
    if found is not None:
        ledger.feedback_date = found
        ledger.notes.append(f"反馈日期“{month}月{day}日”未写年份，按报告日期理解为{found.isoformat()}")


def _name_round(ledger: ParsedLedger, fallback: str, visit: bool = False) -> None:
    ledger.unit_found = bool(ledger.unit)
    ledger.unit = ledger.unit or fallback
    ledger.round_name = round_name(ledger, fallback, visit)


def round_name(ledger: ParsedLedger, fallback: str, visit: bool = False) -> str:
    """A round named by its inspection: 县委第二巡察组巡察（2025-09-03反馈）."""
    kind = "巡视" if visit or "巡视" in (ledger.inspector or "") else "巡察"
    if ledger.inspector and ledger.feedback_date:
        return f"{ledger.inspector}{kind}（{ledger.feedback_date.isoformat()}反馈）"
    if ledger.inspector:
        return f"{ledger.inspector}{kind}"
    if ledger.feedback_date:
        return f"{kind}整改（{ledger.feedback_date.isoformat()}反馈）"
    return f"{kind}整改（{fallback}）"


FACTS = ("inspector", "inspection_start", "inspection_end", "feedback_date", "report_date", "as_of")


def add_facts(ledger: ParsedLedger, lines: list[Line], fallback: str, line_word: str = "段") -> None:
    """What the text around a table says of its round (a Word report whose problems are in a
    table): inspector, inspection and feedback dates, unit, first responsible, summary,
    report date; and the round's name from them when the table had no title."""
    facts = ParsedLedger(source_name=ledger.source_name, sha256=ledger.sha256, unit="", round_name="")
    s = _State(source=ledger.source_name, ledger=facts, line_word=line_word)
    for idx, line in enumerate(lines):
        if line.text:
            s.line_no = idx + 1
            _preamble(s, line)
    _trailer(s, lines)
    _feedback_year(s)
    for name in FACTS:
        if getattr(ledger, name) is None:
            setattr(ledger, name, getattr(facts, name))
    if facts.unit and not ledger.unit_found:
        ledger.unit, ledger.unit_found = facts.unit, True
    ledger.people += [p for p in facts.people if p not in ledger.people]
    ledger.summary += facts.summary
    ledger.refused_names += facts.refused_names
    ledger.notes += facts.notes
    if ledger.round_name == fallback:
        ledger.round_name = round_name(ledger, fallback, s.visit)
