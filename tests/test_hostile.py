"""Hostile and broken input: every case a clear Chinese error, no traceback, nothing
changed, in bounded time and memory; and `check` keeps working afterwards."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from rectify_core.errors import DatabaseError, RectifyError
from rectify_core.importers import read_ledger
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item

# the newest migration: what every fresh database must end at
LATEST = max(p.name for p in (db.MIGRATIONS / "versions").glob("0*.py"))[:4]

BIN = Path(sys.executable).parent
LEDGER = "序号,问题,责任人,整改时限,完成情况\n1,问题甲,周敏,2026年12月31日,未完成\n"


def _rows(engine: Engine) -> tuple[int, int]:
    with db.transaction(engine) as s:
        return (int(s.scalar(select(func.count()).select_from(Item)) or 0),
                int(s.scalar(select(func.count()).select_from(Event)) or 0))


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b" " * (300 * 2**20) + b"</w:document>")
    return path


def _xlsx_bomb(path: Path) -> Path:
    """Under the unpacked-size bound (150 of 200 MB), but one part unpacks a thousand fold:
    refused from the archive's directory, not after seconds of parsing."""
    from openpyxl import Workbook

    plain = path.with_suffix(".plain.xlsx")
    book = Workbook()
    book.active.append(["序号", "问题", "整改时限"])
    book.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(b"</sheetData>", b" " * (150 * 2**20) + b"</sheetData>")
            z.writestr(info.filename, data)
    return path


def _huge_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "问题", "整改时限"])
    sheet.append([1, "问题甲", "2026年12月31日"])
    sheet["XFD1048576"] = "x"
    book.save(path)
    return path


def _text(content: str) -> Any:
    def make(path: Path) -> Path:
        path.write_text(content, encoding="utf-8")
        return path
    return make


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


HEAD = "序号,问题,责任人,整改时限\n"
CASES: dict[str, tuple[Any, str]] = {
    "bomb.docx": (_bomb, "压缩炸弹"),
    "bomb.xlsx": (_xlsx_bomb, "压缩炸弹"),
    "huge.xlsx": (_huge_xlsx, "上限"),
    "fifo.csv": (_fifo, "不是普通文件"),
    "long-quote.txt": (_text('"' + "问题" * 100_000 + "\n"), "个字，超过上限"),
    "big-numbers.csv": (_text(HEAD + "12345678901234567890,问题甲,周敏,2026年12月31日\n2,问题乙,周敏,1e300\n"),
                        "无法识别的序号"),
    "year-zero.csv": (_text(HEAD + "1,问题甲,周敏,0000年3月\n"), "年份不存在"),
    "year-9999.csv": (_text(HEAD + "1,问题甲,周敏,9999年12月31日\n"), "超出支持的日期范围"),
    "year-1900.csv": (_text(HEAD + "1,问题甲,周敏,1900年1月1日\n"), "超出支持的日期范围"),
    "control.csv": (_text(HEAD + "1,问题\x01甲,周敏,2026年12月31日\n"), "控制字符"),
    "long-name.csv": (_text(HEAD + "1,问题甲," + "张" * 150 + ",2026年12月31日\n"), "超过该项允许的 100 个字"),
    "big-item-no.txt": (_text("问题2147483648：问题甲。\n完成情况：未完成\n"), "问题编号 2147483648 超出范围"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_is_refused_clearly(cli: Any, db_url: str, engine: Engine, tmp_path: Path, name: str) -> None:
    good = tmp_path / "good.csv"
    good.write_text(LEDGER, encoding="utf-8")
    assert cli(["--db", db_url, "import", str(good)]).code == 0
    before = _rows(engine)
    make, message = CASES[name]
    path = make(tmp_path / name)
    result = cli(["--db", db_url, "import", str(path)])
    assert result.code == 1 and message in result.err, result.err
    assert "Traceback" not in result.err and _rows(engine) == before
    assert cli(["--db", db_url, "check", "--date", "2026-11-25"]).code == 0


def test_a_device_is_refused_without_reading_it(cli: Any, sqlite_url: str) -> None:
    result = cli(["--db", sqlite_url, "import", "/dev/zero"])
    assert result.code == 1 and "不是普通文件" in result.err


def test_a_report_starting_with_a_quote_is_read_as_a_report(tmp_path: Path) -> None:
    text = ("“关于巡察整改进展情况的通报”\n" + '"正文"说明\n'
            + "问题1：会议费超标。\n整改情况：清退。\n完成情况：已完成\n")
    path = tmp_path / "quote.txt"
    path.write_text(text, encoding="utf-8")
    assert [i.no for i in read_ledger(path).items] == [1]


def test_out_of_range_extension_missing_evidence_and_invisible_verifier(cli: Any, db_url: str, engine: Engine,
                                                                       tmp_path: Path) -> None:
    base = ["--db", db_url]
    good = tmp_path / "good.csv"
    good.write_text(LEDGER, encoding="utf-8")
    assert cli([*base, "import", str(good)]).code == 0
    before = _rows(engine)
    folder = tmp_path / "材料"
    folder.mkdir()
    cases = {
        "超出支持的日期范围": ["extend", "1", "--to", "9999-12-31", "--reason", "r", "--approved-by", "胡志云"],
        "佐证材料文件不存在": ["close", "1", "--evidence", str(tmp_path / "缺失.pdf"), "--by", "李四",
                       "--verified-by", "王五"],
        "是文件夹": ["close", "1", "--evidence", str(folder), "--by", "李四", "--verified-by", "王五"],
        "第二人": ["close", "1", "--evidence-text", "已整改", "--by", "王\u200b五", "--verified-by", "王五"],
        "不能核验自己": ["close", "1", "--evidence-text", "已整改", "--by", "李四", "--verified-by", "周　敏"],
    }
    for message, args in cases.items():
        result = cli([*base, *args])
        assert result.code != 0 and message in result.err + result.out, (args, result.err)
        assert "Traceback" not in result.err and _rows(engine) == before
    assert cli([*base, "check", "--date", "2026-11-25"]).code == 0


def test_evidence_files_are_hashed_and_symlinks_recorded(cli: Any, db_url: str, tmp_path: Path) -> None:
    import hashlib

    base = ["--db", db_url]
    good = tmp_path / "good.csv"
    good.write_text(LEDGER, encoding="utf-8")
    assert cli([*base, "import", str(good)]).code == 0
    real = tmp_path / "收据.pdf"
    real.write_bytes(os.urandom(3 * 2**20 + 7))      # larger than one hashing chunk
    link = tmp_path / "link.pdf"
    link.symlink_to(real)
    assert cli([*base, "close", "1", "--evidence", str(link), "--evidence-text", "款已追回", "--by", "李四",
                "--verified-by", "王五"]).code == 0
    evidence = cli([*base, "show", "1", "--json"]).json()["closures"][0]["evidence"]
    assert evidence[0]["sha256"] == hashlib.sha256(real.read_bytes()).hexdigest()
    assert evidence[0]["size"] == real.stat().st_size and evidence[0]["symlink"] is True
    assert evidence[0]["target"] == str(real.resolve()) and evidence[1] == {"kind": "text", "text": "款已追回"}


def test_names_split_only_at_real_separators() -> None:
    from rectify_core.config.people import split_names

    assert split_names("王 五、李四，赵六/孙七") == ["王 五", "李四", "赵六", "孙七"]


# --- databases ---------------------------------------------------------------------------

def test_database_errors_are_explained(cli: Any, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database " * 200)
    cases = {
        f"sqlite:///{corrupt}": "数据库文件已损坏",
        "mysql://u@127.0.0.1/x": "不支持的数据库类型",
        "postgresql+asyncpg://u@127.0.0.1/x": "不支持的数据库类型",
        f"sqlite:///{tmp_path}/no/such/dir/x.db": "无法打开数据库文件",
    }
    for url, message in cases.items():
        result = cli(["--db", url, "items"])
        assert result.code == 3 and message in result.err and "Traceback" not in result.err, (url, result.err)


def test_a_newer_schema_is_refused(cli: Any, sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    db.migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    result = cli(["--db", sqlite_url, "items"])
    assert result.code == 3 and "比本程序新" in result.err and "Traceback" not in result.err
    with pytest.raises(DatabaseError):
        db.migrate(engine)


def test_read_only_database(cli: Any, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores file permissions; a read-only open is how a clerk meets it
        url = f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true"
        engine = db.make_engine(f"sqlite:///{tmp_path / 'ro.db'}")
        db.migrate(engine)
        engine.dispose()
    else:
        path = tmp_path / "ro.db"
        db.migrate(db.make_engine(f"sqlite:///{path}"))
        path.chmod(0o444)
        url = f"sqlite:///{path}"
    good = tmp_path / "good.csv"
    good.write_text(LEDGER, encoding="utf-8")
    result = cli(["--db", url, "import", str(good)])
    assert result.code == 3 and "只读" in result.err and "Traceback" not in result.err


@pytest.mark.postgres
def test_concurrent_first_migrations_on_postgresql(request: pytest.FixtureRequest) -> None:
    from tests.fixtures.databases import need_pg

    server = need_pg()
    admin = db.make_engine(server.url())
    script = ("import sys; from rectify_core.ledger import db; db.migrate(db.make_engine(sys.argv[1]))")
    for rep in range(5):
        name = f"fresh_{os.getpid()}_{rep}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        procs = [subprocess.Popen([sys.executable, "-c", script, server.url(name)], stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        assert all(code == 0 for code, _ in results), results
        engine = db.make_engine(server.url(name))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == LATEST
        engine.dispose()
    admin.dispose()


# --- fuzz: arbitrary bytes and mutations never raise anything but the input error -----------

@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    with contextlib.suppress(RectifyError):
        read_ledger(path)


REPORT = ("2025年1月7日，巡察组向区某局党组反馈了巡察意见。\n一、关于“作风建设”方面\n问题1：会议费超标。\n"
          "整改情况：一是2025年3月清退。二是健全制度。\n责任领导：张建国（副局长）\n整改时限：2025年12月31日\n完成情况：已完成\n")


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cut=st.integers(0, len(REPORT)), insert=st.text(max_size=40), kind=st.sampled_from(["txt", "csv"]))
def test_fuzz_structured_mutations(tmp_path: Path, cut: int, insert: str, kind: str) -> None:
    text = REPORT if kind == "txt" else LEDGER + "2,问题乙,李娜,2026/2/3,阶段性完成\n"
    mutated = text[:cut] + insert + text[cut:]
    path = tmp_path / f"fuzz.{kind}"
    path.write_bytes(mutated.encode("utf-8", "surrogatepass"))
    with contextlib.suppress(RectifyError):
        read_ledger(path)



@contextlib.contextmanager
def _small_disk(path: Path, size: str = "4m") -> Any:
    """A real, small file system (tmpfs) that can fill up; root only (CI runs as root)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_during_notify_says_so_and_loses_nothing(tmp_path: Path, mail_sink: Any) -> None:
    """Each step a process of its own, as a clerk runs them: on a full disk SQLite answers
    "disk I/O error" (its WAL index cannot grow), which must read as a full disk."""
    from tests.deliveries import EMAIL, LEDGER, mail
    from tests.fixtures.channels import write_contacts

    def rectify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "rectify"), "--db", url, "--config", str(config), *args],
                              capture_output=True, text=True, timeout=120, check=False)

    with _small_disk(tmp_path / "disk") as disk:
        url = f"sqlite:///{disk / 'rectify.db'}"
        ledger = tmp_path / "ledger.csv"
        ledger.write_text(LEDGER, encoding="utf-8")
        config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
        assert rectify("import", str(ledger)).returncode == 0
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as f:
            while True:
                f.write(b"\0" * 65536)
        full = rectify("notify", "--date", "2026-11-25")
        assert full.returncode == 3 and "磁盘已满" in full.stderr and "Traceback" not in full.stderr, full.stderr
        filler.unlink()
        sent = rectify("notify", "--date", "2026-11-25")
        assert sent.returncode == 0, sent.stderr
    got = [str(m["to"]) for m in mail_sink.messages]
    assert got and len(got) == len(set(got))                  # every digest once, none lost


_HEADS = ("序号", "问题", "责任领导", "责任人", "整改时限", "完成情况")
_HEAD_ROW = "<tr>" + "".join(f"<td>{h}</td>" for h in _HEADS) + "</tr>"
SPAN_BOMBS = {
    # a page of cells each claiming 100 × 100 positions, as an OA export named .xls could be
    "wide.xls": _HEAD_ROW + ('<tr>' + '<td rowspan="100" colspan="100">x</td>' * 40 + "</tr>") * 800,
    # narrow enough for the column limit, so the positions filled are what stops it
    "tall.html": _HEAD_ROW + ('<tr><td rowspan="100" colspan="2">甲</td><td rowspan="100" colspan="2">乙</td>'
                              '<td rowspan="100" colspan="2">丙</td></tr>') * 40_000,
}


@pytest.mark.parametrize("name", sorted(SPAN_BOMBS))
def test_a_span_bomb_is_refused_in_words_with_little_memory(tmp_path: Path, name: str) -> None:
    """Merged cells are bounded while the table is spread, not after: a few megabytes of
    HTML never becomes gigabytes of grid (measured in the process that reads it)."""
    page = tmp_path / name
    page.write_text(f"<html><body><table>{SPAN_BOMBS[name]}</table></body></html>", encoding="utf-8")
    assert page.stat().st_size > 2**20
    # VmHWM, the peak of this process's own memory since it began: ru_maxrss would carry the
    # size of the test process it was forked from across the exec
    code = ("import re, sys\n"
            "from rectify_core.errors import InputError\n"
            "from rectify_core.importers import read_ledger\n"
            "try:\n    read_ledger(__import__('pathlib').Path(sys.argv[1]))\n"
            "except InputError as exc:\n    print(exc)\n"
            "status = open('/proc/self/status').read()\n"
            "print('peak', int(re.search(r'VmHWM:\\s+(\\d+) kB', status)[1]) // 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(page)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "导入失败" in done.stdout and "表格第" in done.stdout and "Traceback" not in done.stdout
    peak = int(done.stdout.rsplit("peak", 1)[1])
    assert peak < 600, f"{peak} MB"


def test_a_full_disk_during_backup_or_archive_says_so_and_leaves_nothing(cli: Any, sqlite_url: str,
                                                                          tmp_path: Path) -> None:
    """The clerk's words, exit 1, no traceback; no half file and no scratch folder left."""
    from rectify_flows.cli import DEMO_LEDGER

    assert cli(["--db", sqlite_url, "import", str(DEMO_LEDGER)]).code == 0
    with _small_disk(tmp_path / "disk", "12k") as disk:
        for command, name in (("backup", "备份.zip"), ("archive", "整改档案.zip")):
            done = cli(["--db", sqlite_url, command, "-o", str(disk / name)])
            assert done.code == 1 and "磁盘已满" in done.err and str(disk / name) in done.err, done.err
            assert "Traceback" not in done.err + done.out
            assert list(disk.iterdir()) == []


def _read_in_own_process(page: Path, env: dict[str, str] | None = None) -> tuple[str, int]:
    """What reading `page` says (the rows, or the refusal) and the peak memory of the
    process that read it, in MB."""
    code = ("import re, sys\n"
            "from rectify_core.errors import InputError\n"
            "from rectify_core.importers import read_ledger\n"
            "try:\n    print('rows', len(read_ledger(__import__('pathlib').Path(sys.argv[1])).items))\n"
            "except InputError as exc:\n    print(exc)\n"
            "status = open('/proc/self/status').read()\n"
            "print('peak', int(re.search(r'VmHWM:\\s+(\\d+) kB', status)[1]) // 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(page)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0 and "Traceback" not in done.stdout, done.stderr[-2000:]
    return done.stdout, int(done.stdout.rsplit("peak", 1)[1])


def test_deep_nesting_and_a_page_at_the_size_cap_are_read_or_refused_in_words(tmp_path: Path) -> None:
    """Tags nested a hundred thousand deep never reach Python's recursion limit, and a page
    as large as the import cap allows is read whole, in little memory."""
    deep = tmp_path / "deep.html"
    cells = ("1", "问题甲", "张华", "刘洋", "2027年3月31日", "未完成")
    table = f"<table>{_HEAD_ROW}<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr></table>"
    deep.write_text("<html><body>" + "<div>" * 100_000 + table + "</div>" * 100_000 + "</body></html>",
                    encoding="utf-8")
    said, peak = _read_in_own_process(deep)
    assert ("rows 1" in said or "导入失败" in said) and peak < 600, (said[:300], peak)
    big = tmp_path / "big.html"
    row = ("<tr><td>{n}</td><td>第{n}项整改问题的具体表现和情况说明</td><td>张华</td><td>刘洋</td>"
           "<td>2027年3月31日</td><td>未完成</td></tr>")
    with big.open("w", encoding="utf-8") as f:
        f.write(f"<html><body><table>{_HEAD_ROW}")
        n = 0
        while f.tell() < 7_900_000:
            n += 1
            f.write(row.format(n=n))
        f.write("</table></body></html>")
    said, peak = _read_in_own_process(big, {"RECTIFY_IMPORT_MAX_MB": "8"})
    assert f"rows {n}" in said and peak < 600, (said[:300], peak)
