"""What a 责任人 / 责任领导 cell says: the people it names, and what it names that is not a
person (a department such as 办公室, a title such as 分管副局长), which nobody can be sent to.

    张国强（牵头）李明      -> 张国强 (lead), 李明
    张国强 李明             -> 张国强, 李明          (a space between two full names)
    王 五                   -> 王五                  (a name spaced out to fill its cell)
    李明（副局长）          -> 李明, title 副局长
    张华和李强              -> 张华, 李强
    办公室 / 各股室负责人 / 分管副局长 -> not people: a department, titles

Separators are 、 ， , / ; | and line breaks, brackets after a name, spaces between full
names, and 和/及/与 between two full names.

In running text (a report's paragraph) a name is only a name when it is one: 2–4 Han
characters right after a title (党组书记陈学文…, 书记、局长王某某同志…) and before 同志 or
a verb. A title fragment such as 局党委书记、局长切实履行… names nobody: it is refused, and
the audit says so, instead of recording "长切实" as a person. Both readings share one list
of titles.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

PERSON, DEPARTMENT, TITLE = "person", "department", "title"

_SEPARATORS = re.compile(r"[、,，/／;；|｜\n]+")
_BRACKET = re.compile(r"[（(【\[〔]([^）)】\]〕]{1,16})[）)】\]〕]")
_SPACES = re.compile(r"[\s\u3000]+")
_AND = re.compile(r"^(?P<a>.{2,4}?)[和及与](?P<b>.{2,4})$")
_HAN = re.compile(r"[\u3400-\u9fff]+(?:[·•．.][\u3400-\u9fff]+)*")
LEAD_WORDS = frozenset({"牵头", "牵头人", "主责", "主要责任人", "总牵头"})
HELP_WORDS = frozenset({"配合", "协助", "参与", "协办", "配合单位"})
# how titles end (a cell of only a title names nobody in particular)
TITLE_ENDS = ("局长", "主任", "书记", "组长", "科长", "股长", "处长", "部长", "所长", "站长", "队长", "院长", "校长",
              "负责人", "领导", "干部", "经理", "委员", "主席", "秘书", "会计", "出纳", "专员", "馆长", "行长", "总监",
              "厂长", "镇长", "乡长", "区长", "县长", "市长", "社长", "主管", "工作人员", "联络员", "班子", "成员",
              "董事长", "检察长", "庭长", "关长", "台长", "厅长", "司长", "署长")
TITLE_STARTS = ("各", "分管", "主管", "主要", "相关", "全体", "有关", "班子", "单位", "本单位", "局属")
# how departments end
DEPARTMENT_ENDS = ("办公室", "中心", "委员会", "领导小组", "公司", "支部", "党组", "党委", "室", "科", "股", "局", "处",
                   "部", "办", "所", "站", "队", "组", "委", "院", "馆", "会", "厅", "司", "署", "团", "校", "台")
# common surnames: a two-character part ending like a department (王科, 周局) is still a
# person when it starts with one
SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
                     "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
                     "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符"
                     "舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农"
                     "司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商"
                     "刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝仝")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
                     "令狐", "夏侯", "端木", "独孤", "南宫", "万俟", "闻人", "西门")


@dataclass
class Named:
    """One thing a cell names."""

    text: str
    kind: str  # person | department | title
    title: str | None = None  # 李明（副局长）: 副局长
    lead: bool = False  # （牵头）


# the words a department's name is made of, never a person's name (纪检组, 财务室, 党政办)
NOT_NAMES = frozenset({"纪检", "监察", "财务", "人事", "组织", "宣传", "党建", "党政", "综合", "后勤", "业务", "信息",
                       "安全", "法制", "法规", "审计", "统计", "规划", "办公", "行政", "政工", "机关", "工会", "团委",
                       "妇联", "档案", "保卫", "基建", "计财", "执法", "应急", "信访", "文明", "政策", "督查", "考核",
                       "人力", "社会", "科技", "教育", "卫生", "文化", "农业", "交通", "公路", "运输", "管理", "服务",
                       "项目", "工程", "技术", "质量", "市场", "资产", "计划", "发展", "改革", "经济", "建设"})


def kind_of(text: str) -> str:
    """person, department or title, by how the text begins and ends (spaces aside)."""
    text = _SPACES.sub("", text)
    if len(text) < 2:
        return TITLE
    if not _HAN.fullmatch(text):  # Zhang San, 人员001: departments and titles are written in Han
        return PERSON
    if text.startswith(TITLE_STARTS) or text.endswith(TITLE_ENDS):
        return TITLE
    if "·" in text or "•" in text:
        return PERSON
    if text[:2] in NOT_NAMES:
        return DEPARTMENT
    if text.endswith(DEPARTMENT_ENDS):  # 王科, 周局: a surname and one character, else a department
        surname = text[0] in SURNAMES or text.startswith(COMPOUND_SURNAMES)
        return PERSON if len(text) == 2 and surname else DEPARTMENT
    return PERSON if len(text) <= 4 else TITLE


def _with_title(text: str) -> Named:
    """李明副局长 -> 李明, title 副局长; a title alone (局长, 张局长) names nobody."""
    for end in TITLE_ENDS:
        if text.endswith(end) and len(text) > len(end):
            head = re.sub(r"(?:常务|分管|党组|党委)?副?$", "", text[: -len(end)])
            title = text[len(head):]
            surname = head[:1] in SURNAMES or head.startswith(COMPOUND_SURNAMES)
            if 2 <= len(head) <= 4 and surname and kind_of(head) == PERSON:
                return Named(head, PERSON, title)
    return Named(text, kind_of(text))


def _pieces(part: str) -> list[str]:
    """A part between separators, cut at spaces between full names and at 和/及/与 between
    two full names; a name spaced out to fill its cell (王 五, 张 国 强) stays one name."""
    words = [w for w in _SPACES.split(part.strip()) if w]
    if len(words) > 1 and any(len(w) == 1 for w in words):
        words = [part.strip()]  # kept as written: the name people and notices already know it by
    found: list[str] = []
    for word in words:
        both = _AND.match(word)
        if both and kind_of(both["a"]) == PERSON and kind_of(both["b"]) == PERSON and len(word) >= 5:
            found += [both["a"], both["b"]]
        else:
            found.append(word)
    return found


def parse_people(text: str | None) -> list[Named]:
    """Everything a people cell names, in order (a fresh list: callers may keep it)."""
    return [Named(n.text, n.kind, n.title, n.lead) for n in _parsed(text or "")]


@functools.lru_cache(maxsize=65536)
def _parsed(text: str) -> tuple[Named, ...]:
    """A cell read once: a ledger's cells repeat (40 leaders over 100,000 items)."""
    named: list[Named] = []
    for chunk in _SEPARATORS.split(text or ""):
        before = len(named)
        parts = _BRACKET.split(chunk)
        for i, part in enumerate(parts):
            inner = part.strip()
            if i % 2 == 1:  # a bracket after a name: 牵头, 配合, or the name's title
                if len(named) > before and inner not in HELP_WORDS:
                    if inner in LEAD_WORDS:
                        named[-1].lead = True
                    elif named[-1].title is None:
                        named[-1].title = inner
                continue
            named += [_with_title(p) for p in _pieces(part)]
    return tuple(n for n in named if n.text)


def split_names(text: str | None) -> list[str]:
    """The people a cell names (departments and titles left out: nobody can be sent to them)."""
    return [n.text for n in _parsed(text or "") if n.kind == PERSON]


def not_people(text: str | None) -> list[Named]:
    """What a cell names that is not a person: departments and titles."""
    return [n for n in parse_people(text) if n.kind != PERSON]


# --- names in running text ------------------------------------------------------------

_TITLE = r"[^,，。、;；]{0,8}?(?:" + "|".join(sorted(TITLE_ENDS, key=len, reverse=True)) + ")"
_VERBS = ("同志", "切实", "认真", "履行", "亲自", "带头", "坚决", "主动", "扛", "担任", "负责", "作为", "坚持",
          "抓", "牵头", "是", "为", "对", "要", "全面", "始终", "充分", "高度", "直接", "严格", "积极", "落实")
_NAMED = re.compile(r"(?:党组|党委|党工委|党总支|党支部)副?书记(?:、" + _TITLE + r")*"
                    r"(?P<name>[\u4e00-\u9fa5]{2,4}?)(?=" + "|".join(_VERBS) + ")")
_NAME = re.compile(r"[\u4e00-\u9fa5]{2,4}")
# characters that begin titles and offices, never a surname here
_NOT_A_START = set("局长党组委书记副主任处科股室部办")


def is_name(text: str) -> bool:
    """2–4 Han characters, not a title fragment and no verb inside."""
    return (bool(_NAME.fullmatch(text)) and text[0] not in _NOT_A_START
            and not any(v in text for v in _VERBS))


def looks_like_title(text: str) -> bool:
    """A title or a verb phrase where a name should be (局长, 长切实), as opposed to a name
    or a department."""
    return bool(_NAME.fullmatch(text)) and (text[0] in "局长书记副" or any(v in text for v in _VERBS))


def first_responsible(text: str, orig: str) -> tuple[str | None, str | None]:
    """The first responsible (第一责任人) named in a line (its working copy `text` and, of
    the same length, `orig` as written), as written; or, when the line names that role with
    no recognisable name, the refused text."""
    for sentence in re.finditer(r"[^。]*第一责任人[^。]*", text):
        start, end = sentence.span()
        for m in _NAMED.finditer(text, start, end):
            if is_name(m["name"]):
                return orig[m.start("name"):m.end("name")], None
        if (pos := text.find("书记", start, end)) >= 0:
            stop = text.find("第一责任人", pos, end)
            return None, orig[max(start, pos - 6):stop + 5][:60]
    return None, None
