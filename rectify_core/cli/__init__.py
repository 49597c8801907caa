"""Command line: thin over the library. Reads the clock once, owns transactions,
and turns RectifyError into a clean Chinese message and a non-zero exit."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.exc import OperationalError

from rectify_core.config.calendar import local_today
from rectify_core.config.limits import limits
from rectify_core.deadlines import scan
from rectify_core.delivery import outbox
from rectify_core.documents import dashboard
from rectify_core.documents import report as progress_report
from rectify_core.documents.docx import write_docx
from rectify_core.documents.xlsx import write_xlsx
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.importers import read_ledger
from rectify_core.importers.audit import audit_ledger
from rectify_core.ledger import db, items, lifecycle, lookback, rounds, store
from rectify_core.ledger import view as ledger_view
from rectify_core.ledger.evidence import records
from rectify_core.ledger.models import Item
from rectify_core.ledger.store import ImportResult, save_ledger
from rectify_core.runs import daily, views
from rectify_core.runs.daily import Settings, load_settings, resolve_config_dir, run_now
from rectify_core.vocab import LABELS, ItemState, Role, UnknownStatus
from rectify_core.vocab import normalise as normalise_status
from rectify_core.web import links


@dataclass
class App:
    url: str
    config: Path | None = None
    _engine: Engine | None = None
    _settings: Settings | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.url)
            db.migrate(self._engine)
        return self._engine

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", metavar="URL",
              help="数据库地址（SQLAlchemy URL）；默认读取 RECTIFY_DATABASE_URL，"
                   "再默认为用户目录下的 SQLite 文件。")
@click.option("--config", "config", metavar="DIR", type=click.Path(path_type=Path),
              help="配置目录（rules.toml、contacts.toml、calendar.toml）；默认读取 "
                   "RECTIFY_CONFIG_DIR，再默认为项目的 config/。")
@click.version_option(package_name="rectify")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, config: Path | None) -> None:
    """rectify：巡察整改台账的时限与提醒引擎。"""
    ctx.obj = App(db.database_url(db_url), resolve_config_dir(config))


class _Date(click.ParamType):  # type: ignore[type-arg]
    """YYYY-MM-DD -> datetime.date."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"“{value}”不是有效日期（格式 YYYY-MM-DD）", param, ctx)
        lim = limits()
        if not lim.first_year <= day.year <= lim.last_year:
            self.fail(f"{day} 超出支持的日期范围（{lim.first_year}–{lim.last_year} 年，"
                      "可用环境变量 RECTIFY_FIRST_YEAR / RECTIFY_LAST_YEAR 调整）", param, ctx)
        return day


DATE = _Date()
EVIDENCE_HELP = ("佐证材料文件（记录文件名、大小与 SHA-256）；看起来像路径的（含 / 或扩展名）"
                 "必须是存在的普通文件，文字说明请用 --evidence-text；可重复。")


@dataclass(frozen=True)
class ImportOptions:
    unit: str | None = None
    round_name: str | None = None
    round_id: int | None = None
    round_key: str | None = None
    feedback_date: dt.date | None = None
    new_round: bool = False


def import_file(app: App, path: Path, opts: ImportOptions = ImportOptions(), dry_run: bool = False) -> ImportResult:
    """Read and save one file as a batch; a dry run rolls everything back."""
    parsed = read_ledger(path)
    if opts.unit:
        parsed.unit, parsed.unit_found = opts.unit, True
    parsed.round_name = opts.round_name or parsed.round_name
    # the identity comes from the file (or --round-key), so next week's file, which will
    # not carry the --feedback-date given now, still finds this round
    parsed.round_key = opts.round_key or store.key_of(parsed)
    parsed.feedback_date = opts.feedback_date or parsed.feedback_date
    with db.transaction(app.engine, rollback=dry_run) as session:
        result = save_ledger(parsed, run_now(None), session=session, round_id=opts.round_id, new_round=opts.new_round)
    if not dry_run:
        db.refresh_statistics(app.engine, "items", "item_holders")
    return result


def _show_value(column: str, value: Any) -> str:
    if column == "status":
        return LABELS.get(value, str(value))
    if value in (None, "", [], {}):
        return "（空）"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


COLUMN_NAMES = {"title": "问题", "status": "完成情况", "status_text": "完成情况原文", "immediate": "立行立改",
                "deadline": "整改时限", "deadline_kind": "时限类型", "deadline_text": "整改时限原文",
                "leader": "责任领导", "leader_title": "领导职务", "department": "责任部门", "owner": "责任人",
                "measures_text": "整改措施", "evidence": "佐证材料", "figures": "数字", "extra": "其他列"}


def report_import(path: Path, result: ImportResult, dry_run: bool = False) -> None:
    head = "试导入（未写入数据库）" if dry_run else "已导入"
    batch = "" if dry_run else f"，导入批次 {result.batch_id}"
    new = "（新轮次）" if result.round_created else ""
    click.echo(f"{head} {path}：{result.unit} / {result.round_name}（轮次 {result.round_id}{new}{batch}）")
    click.echo(f"  新增 {len(result.created)} 条，更新 {result.updated} 条，未变化 {result.unchanged} 条，"
               f"与 rectify 记录不一致 {len(result.disagreements)} 条")
    for no, title in result.created[:50]:
        click.echo(f"  新增：问题{no} {title}")
    if len(result.created) > 50:
        click.echo(f"  ……另有 {len(result.created) - 50} 条新增")
    for change in result.changed:
        if change.changes:
            parts = [f"{COLUMN_NAMES.get(c, c)} {_show_value(c, old)} → {_show_value(c, new)}"
                     for c, (old, new) in change.changes.items()]
            click.echo(f"  更新：问题{change.no} " + "；".join(parts))
    for d in result.disagreements:
        click.echo(f"  警告：{d['message']}")


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只显示将新增、更新哪些问题以及与记录不一致之处，不写数据库。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：新增、更新（字段旧值 → 新值）、不一致、未变化。")
@click.option("--unit", help="被巡察单位名称（默认从文件中识别）。")
@click.option("--round-name", "round_name", help="新轮次的名称（默认从文件标题识别）。")
@click.option("--round", "round_id", type=int, help="把文件导入到已有的这个轮次（编号见 rectify rounds）。")
@click.option("--round-key", "round_key", help="轮次标识：同一单位同一标识的文件属于同一轮次（默认由巡察组和反馈日期、"
                                               "或台账标题生成）。")
@click.option("--feedback-date", "feedback_date", type=DATE,
              help="巡察反馈日期（台账中没有时），用于按规则计算整改时限。")
@click.option("--new-round", is_flag=True, help="确认这是新的一轮巡察（文件与已有轮次的问题大多相同时需要）。")
@click.pass_obj
def import_cmd(app: App, file: Path, dry_run: bool, as_json: bool, unit: str | None, round_name: str | None,
               round_id: int | None, round_key: str | None, feedback_date: dt.date | None, new_round: bool) -> None:
    """导入整改进展报告（.txt/.docx）或整改台账（.xlsx/.csv），格式按内容自动识别。

    每次导入是一个可撤销的批次。导入只会补充文件中的新进展：rectify 中已记录的销号、
    进展、延期、移交和回头看结论不会被文件覆盖，不一致之处会逐条提示并记入事件。"""
    opts = ImportOptions(unit, round_name, round_id, round_key, feedback_date, new_round)
    result = import_file(app, file, opts, dry_run)
    if as_json:
        _dump({**result.as_json(), "dry_run": dry_run})
    else:
        report_import(file, result, dry_run)


@cli.group("imports", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.pass_context
def imports_group(ctx: click.Context, as_json: bool) -> None:
    """列出导入批次（时间、轮次、文件、新增/更新/不一致数量、是否已撤销）。"""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with db.transaction(app.engine) as session:
        data = [store.batch_json(b) for b in store.batches(session=session)]
    if as_json:
        _dump(data)
        return
    if not data:
        click.echo("还没有导入过任何文件。")
    for b in data:
        undone = f"  已于 {b['undone_at']} 撤销" if b["undone_at"] else ""
        where = f"轮次 {b['round_id'] or '—'}（{b['unit']} / {b['round']}）"
        click.echo(f"{b['id']:>4}  {b['at']}  {where}  {b['source']}  新增 {b.get('created', 0)}，"
                   f"更新 {b.get('updated', 0)}，不一致 {b.get('disagreements', 0)}{undone}")


@imports_group.command("undo")
@click.argument("batch_id", type=int)
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.pass_obj
def imports_undo_cmd(app: App, batch_id: int, by: str) -> None:
    """撤销一次导入：删除它新增的问题，恢复它改动过的字段。该批次之后问题又有变动时拒绝并列出问题。"""
    with db.transaction(app.engine) as session:
        batch = store.undo_batch(batch_id, by, run_now(None), session=session)
        counts = dict(batch.counts)
    click.echo(f"已撤销导入批次 {batch_id}（{batch.source_name}）：删除新增的 {counts.get('created', 0)} 条，"
               f"恢复更新过的 {counts.get('updated', 0)} 条。")


def _print_items(rows: list[Item]) -> None:
    if not rows:
        click.echo("（台账为空：请先用 rectify import 导入）")
        return
    for item in rows:
        due = item.deadline.isoformat() if item.deadline else {
            "immediate": "立行立改", "long_term": "长期坚持"}.get(item.deadline_kind or "", "—")
        click.echo(f"{item.no:>4}  {LABELS[item.status]:<5}  {due:<10}  "
                   f"{item.leader or '—':<6}  {item.title}")
    counts = {label: sum(LABELS[i.status] == label for i in rows) for label in LABELS.values()}
    click.echo(f"共 {len(rows)} 条：" + "，".join(f"{k} {v}" for k, v in counts.items()))


@cli.command("items")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.option("--round", "round_id", type=int, help="只列出该轮次（编号）。")
@click.pass_obj
def items_cmd(app: App, as_json: bool, round_id: int | None) -> None:
    """列出台账中的问题。"""
    with db.transaction(app.engine) as session:
        rows = items.list_items(session=session, round_id=round_id)
        if as_json:
            _dump([items.item_json(i) for i in rows])
        else:
            _print_items(rows)


@cli.command("show")
@click.argument("no", type=int)
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：字段、延期、销号、进展、不一致、通知和全部事件。")
@click.pass_obj
def show_cmd(app: App, no: int, round_id: int | None, as_json: bool) -> None:
    """显示一个问题的完整记录：整改措施、延期、销号、进展、提醒和事件。"""
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        if as_json:
            _dump(items.trail(item, session=session))
        else:
            click.echo(items.describe(item, items.events_of(item, session=session)))


@cli.command("audit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：claims 与 findings。")
def audit_cmd(file: Path, as_json: bool) -> None:
    """核对报告概述中的数字与正文是否一致（不写数据库）。"""
    result = audit_ledger(read_ledger(file))
    if as_json:
        _dump(result.as_json())
        return
    click.echo(f"概述：{result.claims.get('text', '（未找到）')}")
    if not result.findings:
        click.echo("未发现不一致。")
    for n, finding in enumerate(result.findings, start=1):
        click.echo(f"{n}. {finding['message']}")


@cli.command("check")
@click.option("--date", "day", type=DATE, help="检查哪一天（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组（按台账顺序，边计算边输出）。")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="输出 JSON Lines：每行一个问题（适合很大的台账）。")
@click.pass_obj
def check_cmd(app: App, day: dt.date | None, as_json: bool, as_jsonl: bool) -> None:
    """计算某一天每个未完成问题的时限、剩余工作日、红黄绿灯和应提醒的人（只计算，不发送）。"""
    today = local_today(run_now(day))
    plans = daily.iter_item_plans(app.engine, app.settings, today)
    if as_json or as_jsonl:
        estimated = views.stream_json(plans, sys.stdout, lines=as_jsonl)
        if estimated:
            click.echo(views.estimated_years_warning(estimated), err=True)
        return
    listed = list(plans)
    warning = views.estimated_warning(listed)
    if warning:
        click.echo(warning, err=True)
    click.echo(views.check_text(listed, today, app.settings.calendar))


@cli.command("extend")
@click.argument("no", type=int)
@click.option("--to", "to", type=DATE, required=True, help="批准后的新整改时限（YYYY-MM-DD）。")
@click.option("--reason", required=True, help="延期理由。")
@click.option("--approved-by", "approved_by", required=True, help="批准人。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="批准日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def extend_cmd(app: App, no: int, to: dt.date, reason: str, approved_by: str,
               round_id: int | None, day: dt.date | None) -> None:
    """记录一次经批准的延期：写入事件记录，计入延期次数（受上限约束）。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        event = lifecycle.extend(item, to, reason, approved_by, now, local_today(now), app.settings.rules,
                                 app.settings.calendar, session=session)
    click.echo(f"已记录：问题{no}的整改时限由 {event.data['from'] or '未定'} 延至 {event.data['to']}"
               f"（第{event.data['count']}次延期，批准人：{approved_by}）")




def _status(word: str | None) -> ItemState | None:
    if word is None:
        return None
    try:
        return ItemState(normalise_status(word))
    except UnknownStatus as exc:
        raise RectifyError(str(exc)) from None


@cli.command("progress")
@click.argument("no", type=int)
@click.option("--text", required=True, help="进展情况。")
@click.option("--by", "by", required=True, help="报送人。")
@click.option("--status", help="同时把状态改为“阶段性完成”或“未完成”（完成整改请用 close 销号）。")
@click.option("--evidence", multiple=True, help=EVIDENCE_HELP)
@click.option("--evidence-text", "evidence_text", multiple=True, help="文字形式的佐证说明；可重复。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="进展日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def progress_cmd(app: App, no: int, text: str, by: str, status: str | None, evidence: tuple[str, ...],
                 evidence_text: tuple[str, ...], round_id: int | None, day: dt.date | None) -> None:
    """报送一个未完成问题的整改进展（之后导入的台账不会覆盖它）。完成整改请用 close 销号。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        lifecycle.record_progress(item, text, by, now, local_today(now), session=session,
                                  status=_status(status), evidence=records(list(evidence), list(evidence_text)))
        state = LABELS[item.status]
    click.echo(f"已记录：问题{no}的整改进展（{local_today(now)}，报送人 {by}），当前状态：{state}")


@cli.command("reassign")
@click.option("--from", "old", required=True, help="原责任人（或责任领导）姓名。")
@click.option("--to", "new", required=True, help="接任者姓名。")
@click.option("--unit", help="只移交这个单位的问题（同名的人在不同单位时需要）。")
@click.option("--role", type=click.Choice(["owner", "leader"]), default="owner", show_default=True,
              help="移交的角色：owner 责任人，leader 责任领导。")
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.option("--date", "day", type=DATE, help="移交日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def reassign_cmd(app: App, old: str, new: str, unit: str | None, role: str, by: str, day: dt.date | None) -> None:
    """人员变动：把某人负责的全部未完成问题移交给接任者，待发的提醒一并转给接任者。"""
    if not new.strip():
        raise RectifyError("请写明接任者姓名（--to）")
    if new.strip() == old.strip():
        raise RectifyError("接任者与原责任人相同，无需移交")
    now = run_now(day)
    with db.transaction(app.engine) as session:
        found = lifecycle.active_items_of(old, Role(role), unit, session=session)
        if not found:
            where = f"{unit}中" if unit else ""
            raise NotFoundError(f"{where}没有由 {old} 担任{'责任人' if role == 'owner' else '责任领导'}的未完成问题")
        units = {i.round.unit.name for i in found}
        if len(units) > 1 and unit is None:
            raise RectifyError(f"{old} 在多个单位都有问题（{'、'.join(sorted(units))}），请用 --unit 指定单位")
        moved = lifecycle.reassign(found, Role(role), old, new.strip(), by, now, local_today(now), session=session)
        nos = "、".join(f"问题{i.no}" for i in found)
    click.echo(f"已移交：{nos} 由 {old} 移交给 {new.strip()}；待发提醒 {moved} 条已转给 {new.strip()}。")


@cli.group("rounds", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.pass_context
def rounds_group(ctx: click.Context, as_json: bool) -> None:
    """列出巡察轮次：编号、单位、名称、巡察组、反馈日期、填报日期、第一责任人、问题数。"""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with db.transaction(app.engine) as session:
        data = rounds.list_rounds(session=session)
    if as_json:
        _dump(data)
        return
    if not data:
        click.echo("还没有任何轮次：请先用 rectify import 导入。")
    for r in data:
        click.echo(f"{r['id']:>4}  {r['unit']} / {r['name']}  巡察组：{r['inspector'] or '—'}  "
                   f"反馈：{r['feedback_date'] or '未知'}  填报：{r['report_date'] or '—'}  "
                   f"第一责任人：{r['first_responsible'] or '—'}  问题 {r['items']} 个")


@rounds_group.command("edit")
@click.argument("round_id", type=int)
@click.option("--feedback-date", "feedback_date", type=DATE, help="巡察反馈日期（YYYY-MM-DD）。")
@click.option("--name", help="轮次名称。")
@click.option("--first-responsible", "first_responsible", help="第一责任人姓名。")
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.pass_obj
def rounds_edit_cmd(app: App, round_id: int, feedback_date: dt.date | None, name: str | None,
                    first_responsible: str | None, by: str) -> None:
    """修改轮次的反馈日期、名称或第一责任人。"""
    changes = {"feedback_date": feedback_date, "name": name, "first_responsible": first_responsible}
    with db.transaction(app.engine) as session:
        rnd = rounds.edit(round_id, changes, by, run_now(None), session=session)
        shown = rounds.round_json(rnd, rnd.unit.name, 0)
    click.echo(f"已修改轮次 {round_id}：{shown['name']}，反馈日期 {shown['feedback_date'] or '未知'}，"
               f"第一责任人 {shown['first_responsible'] or '—'}")


def _round_view(app: App, session: Any, round_id: int | None, day: dt.date | None) -> ledger_view.RoundView:
    today = local_today(run_now(day))
    directory = scan.with_people(app.settings.directory, session=session)
    rnd = ledger_view.pick_round(round_id, session=session)
    return ledger_view.round_view(rnd, today, app.settings.rules, app.settings.calendar, directory, session=session)


def _output(path: Path, suffixes: tuple[str, ...]) -> Path:
    if path.suffix.lower() not in suffixes:
        raise RectifyError(f"输出文件 {path} 的扩展名应为 {' 或 '.join(suffixes)}")
    if not path.parent.is_dir():
        raise RectifyError(f"输出目录不存在：{path.parent}")
    return path


REPORT_SUFFIX = {"docx": ".docx", "txt": ".txt", "md": ".md"}


@cli.command("report")
@click.option("--round", "round_id", type=int, help="哪个轮次（只有一个轮次时可省略）。")
@click.option("--date", "day", type=DATE, help="报告截至日期（YYYY-MM-DD），默认为今天。")
@click.option("--format", "fmt", type=click.Choice(list(REPORT_SUFFIX)), help="格式，默认按输出文件扩展名。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出文件。")
@click.pass_obj
def report_cmd(app: App, round_id: int | None, day: dt.date | None, fmt: str | None, output: Path) -> None:
    """生成整改进展情况报告（Word 按公文格式，或纯文本、Markdown），可再导入 rectify 核对。"""
    fmt = fmt or next((k for k, v in REPORT_SUFFIX.items() if output.suffix.lower() == v), "docx")
    path = _output(output, (REPORT_SUFFIX[fmt],))
    with db.transaction(app.engine) as session:
        paras = progress_report.build(_round_view(app, session, round_id, day))
    if fmt == "docx":
        write_docx(paras, path)
    else:
        text = progress_report.as_text(paras) if fmt == "txt" else progress_report.as_markdown(paras)
        path.write_text(text, encoding="utf-8")
    click.echo(f"已生成整改进展情况报告：{path}（{len([p for p in paras if p.role == 'item'])} 个问题）")


@cli.command("export")
@click.option("--round", "round_id", type=int, help="哪个轮次（只有一个轮次时可省略）。")
@click.option("--date", "day", type=DATE, help="台账填报日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出的 .xlsx 文件。")
@click.pass_obj
def export_cmd(app: App, round_id: int | None, day: dt.date | None, output: Path) -> None:
    """导出 Excel 整改台账：按红黄绿灯着色，含统计表；可再导入 rectify。"""
    path = _output(output, (".xlsx",))
    with db.transaction(app.engine) as session:
        view = _round_view(app, session, round_id, day)
    write_xlsx(view, path)
    click.echo(f"已导出整改台账：{path}（{len(view.rows)} 个问题）")


@cli.command("dashboard")
@click.option("--date", "day", type=DATE, help="截至日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="输出的 .html 文件。")
@click.pass_obj
def dashboard_cmd(app: App, day: dt.date | None, output: Path) -> None:
    """生成整改进展看板：一个离线可用的 HTML 文件（各单位、各方面、逾期、升级督办、回头看）。"""
    path = _output(output, (".html", ".htm"))
    data = dashboard.write(app.engine, app.settings, local_today(run_now(day)), path)
    click.echo(f"已生成看板：{path}（问题 {data['total']} 个，逾期 {len(data['overdue'])} 个）")


@cli.command("notify")
@click.option("--date", "day", type=DATE, help="按哪一天计划和发送（YYYY-MM-DD），默认为上海时间的今天。")
@click.option("--dry-run", is_flag=True, help="只显示将要发给谁，不写数据库、不发送。")
@click.pass_obj
def notify_cmd(app: App, day: dt.date | None, dry_run: bool) -> None:
    """计划当天的提醒，写入发件箱，按人合并成一条摘要发送，并报告结果。"""
    now = run_now(day)
    if dry_run:
        plan = daily.plan_stage(app.engine, app.settings, local_today(now))
        warning = views.estimated_warning(plan.plans)
        if warning:
            click.echo(warning, err=True)
        click.echo(views.dry_run_text(plan))
        return
    tally = daily.plan_and_enqueue(app.engine, app.settings, local_today(now), now)
    if warning := views.estimated_years_warning(tally.estimated):
        click.echo(warning, err=True)
    report = daily.deliver_stage(app.engine, app.settings, daily.directory_of(app.engine, app.settings), now)
    click.echo(views.notify_text(report, tally.enqueued))
    if report.failed:
        sys.exit(4)


@cli.group("outbox", invoke_without_command=True)
@click.option("--state", type=click.Choice(outbox.STATES), help="只列出该状态的通知。")
@click.option("--item", "item_no", type=int, help="只列出该问题的通知。")
@click.option("--round", "round_id", type=int, help="与 --item 一起使用：有多个轮次时指定轮次。")
@click.option("--person", help="只列出发给此人的通知。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组。")
@click.pass_context
def outbox_cmd(ctx: click.Context, state: str | None, item_no: int | None, round_id: int | None,
               person: str | None, as_json: bool) -> None:
    """列出发件箱中的通知（最新的在前）；outbox resend 重发已放弃的通知。"""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with db.transaction(app.engine) as session:
        item_id = items.get_item(item_no, session=session, round_id=round_id).id if item_no is not None else None
        rows = outbox.list_notices(state, session=session, item_id=item_id, person=person)
        data = [views.notice_json(n) for n in rows]
    if as_json:
        _dump(data)
        return
    if not data:
        click.echo("发件箱中没有符合条件的通知。")
    for n in data:
        error = f"  错误：{n['last_error']}" if n["last_error"] else ""
        click.echo(f"{n['id']:>6}  {outbox.STATE_NAMES[n['state']]:<6} 问题{n['item_no']:<4} {n['recipient']}"
                   f"（{n['recipient_unit']}，{n['step']}，时限 {n['due']}，尝试 {n['attempts']} 次）{error}")


@outbox_cmd.command("resend")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.pass_obj
def outbox_resend_cmd(app: App, ids: tuple[int, ...]) -> None:
    """把已放弃（或超出上限）的通知重新排队，例如在 contacts.toml 中补全联系方式之后；下次 notify 时发送。"""
    with db.transaction(app.engine) as session:
        done = outbox.resend(list(ids), run_now(None), session=session)
    click.echo(f"已重新排队 {len(done)} 条通知：{'、'.join(str(n.id) for n in done)}。运行 rectify notify 发送。")


@cli.command("mailsink")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="邮件保存目录，默认为数据目录下的 mail/。")
@click.option("--port", type=int, default=8025, show_default=True, help="监听端口（仅 127.0.0.1）。")
def mailsink_cmd(directory: Path | None, port: int) -> None:
    """在本机启动一个测试用邮件服务器，把收到的每封邮件存为 .eml 文件（Ctrl-C 停止）。"""
    from rectify_core.delivery.mailsink import MailSink

    target = directory or db.default_database_path().parent / "mail"
    with MailSink(target, port):
        click.echo(f"本地邮件服务器：127.0.0.1:{port}，邮件保存在 {target}（Ctrl-C 停止）")
        import time

        while True:
            time.sleep(3600)


@cli.command("close")
@click.argument("no", type=int)
@click.option("--evidence", "evidence", multiple=True, help=EVIDENCE_HELP)
@click.option("--evidence-text", "evidence_text", multiple=True, help="文字形式的佐证说明；可重复。至少要有一份佐证。")
@click.option("--by", "by", required=True, help="经办人。")
@click.option("--verified-by", "verified_by", required=True, help="核验人（须为责任人和经办人以外的第二人）。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="销号日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def close_cmd(app: App, no: int, evidence: tuple[str, ...], evidence_text: tuple[str, ...], by: str,
              verified_by: str, round_id: int | None, day: dt.date | None) -> None:
    """销号：凭佐证材料并经第二人核验，把问题标为已完成并记录。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        proof = records(list(evidence), list(evidence_text))
        closure = lifecycle.close(item, proof, by, verified_by, now, local_today(now), app.settings.rules,
                                  app.settings.calendar, session=session)
    late = "（逾期完成）" if closure.late else ""
    click.echo(f"已销号：问题{no}，{closure.closed_on}，经办人 {by}，核验人 {verified_by}，"
               f"佐证材料 {len(closure.evidence)} 份{late}")


@cli.group("lookback")
def lookback_group() -> None:
    """回头看：抽查已销号问题，防止反弹回潮。"""


@lookback_group.command("plan")
@click.option("--date", "day", type=DATE, help="按哪一天抽选（YYYY-MM-DD），默认为今天。")
@click.option("--seed", help="随机抽查的种子（默认由日期生成，可复现）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_obj
def lookback_plan_cmd(app: App, day: dt.date | None, seed: str | None, as_json: bool) -> None:
    """显示当天的回头看抽选结果及理由（不分派任务、不写数据库）。"""
    today = local_today(run_now(day))
    seed = seed or lookback.default_seed(today)
    with db.transaction(app.engine) as session:
        chosen = lookback.select_for_sweep(lookback.candidates(today, session=session), today,
                                           app.settings.rules, seed)
    data = {"date": today.isoformat(), "seed": seed, "selected": [lookback.selection_json(s) for s in chosen]}
    if as_json:
        _dump(data)
        return
    click.echo(views.lookback_plan_text(data))


@lookback_group.command("assign")
@click.option("--date", "day", type=DATE, help="抽选日期（YYYY-MM-DD），默认为今天。")
@click.option("--seed", help="随机抽查的种子（默认由日期生成）。")
@click.option("--unit", help="只抽选这个单位（默认每个单位各抽选一次）。")
@click.pass_obj
def lookback_assign_cmd(app: App, day: dt.date | None, seed: str | None, unit: str | None) -> None:
    """执行当天的回头看抽选并分派任务（同一天重复执行不会重复分派）。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        directory = scan.with_people(app.settings.directory, session=session)
        result = lookback.assign(local_today(now), now, app.settings.rules, app.settings.calendar,
                                 directory, session=session, seed=seed, unit=unit)
    click.echo(f"{result.run_on} 回头看抽选（种子 {result.seed}，{len(result.sweeps)} 个单位）："
               f"选中 {len(result.selected)} 项，本次新分派 {result.assigned} 项任务。")


@lookback_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.option("--date", "day", type=DATE, help="按哪一天判断是否逾期，默认为今天。")
@click.pass_obj
def lookback_list_cmd(app: App, as_json: bool, day: dt.date | None) -> None:
    """列出回头看任务：待完成、已逾期、已完成。"""
    today = local_today(run_now(day))
    with db.transaction(app.engine) as session:
        data = [views.task_json(t, today) for t in lookback.tasks(session=session)]
    if as_json:
        _dump(data)
        return
    if not data:
        click.echo("没有回头看任务。")
    for t in data:
        click.echo(f"问题{t['no']:<4} {views.TASK_STATES[t['state']]:<4} 检查人 {t['reviewer'] or '未指定'}  "
                   f"截止 {t['due']}  {t['outcome'] or ''}  {t['title']}")


@lookback_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_obj
def lookback_stats_cmd(app: App, as_json: bool) -> None:
    """回头看统计：已检查、巩固、反弹及反弹率（总体、按轮次、按方面）。"""
    with db.transaction(app.engine) as session:
        data = lookback.stats(session=session)
    if as_json:
        _dump(data)
        return
    click.echo(views.lookback_stats_text(data))


@lookback_group.command("record")
@click.argument("no", type=int)
@click.option("--outcome", required=True, help="结论：巩固 或 反弹。")
@click.option("--note", required=True, help="检查情况说明。")
@click.option("--evidence", multiple=True, help=EVIDENCE_HELP)
@click.option("--evidence-text", "evidence_text", multiple=True, help="文字形式的检查佐证；可重复。")
@click.option("--by", "by", required=True, help="检查人。")
@click.option("--round", "round_id", type=int, help="有多个轮次时，指定轮次编号。")
@click.option("--date", "day", type=DATE, help="检查日期（YYYY-MM-DD），默认为今天。")
@click.pass_obj
def lookback_record_cmd(app: App, no: int, outcome: str, note: str, evidence: tuple[str, ...],
                        evidence_text: tuple[str, ...], by: str,
                        round_id: int | None, day: dt.date | None) -> None:
    """记录回头看结论：巩固则任务完成；反弹则重新打开问题并关联原销号记录。"""
    now = run_now(day)
    with db.transaction(app.engine) as session:
        item = items.get_item(no, session=session, round_id=round_id)
        proof = records(list(evidence), list(evidence_text))
        lookback.record(item, outcome, note, proof, by, now, local_today(now), app.settings.rules,
                        app.settings.calendar, session=session)
        if outcome == "反弹":
            click.echo(f"问题{no}反弹回潮：已重新打开（第{item.rebound_count}次反弹），新整改时限 {item.deadline}，"
                       "督办从上一级开始。")
        else:
            click.echo(f"问题{no}回头看结论：巩固。")


@cli.group("web", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址（默认只在本机；对外请放在 HTTPS 反向代理之后）。")
@click.option("--port", type=int, default=8000, show_default=True, help="监听端口。")
@click.option("--base-url", "base_url",
              help="链接的对外地址（覆盖 web.toml 的 base_url），例如 https://rectify.example.gov.cn。")
@click.option("--data-dir", "data_dir", type=click.Path(path_type=Path),
              help="上传文件的保存目录（默认为数据目录下的 uploads/）。")
@click.option("--proxy", is_flag=True, help="在本机反向代理之后运行：信任 127.0.0.1 传来的 X-Forwarded-For/Proto。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="工作进程数（多核机器上可设为核数）。")
@click.pass_context
def web_group(ctx: click.Context, host: str, port: int, base_url: str | None, data_dir: Path | None,
              proxy: bool, workers: int) -> None:
    """个人办理页面：每份督办通知带一个只属于收件人的链接，可确认已阅、报送进展、申请延期或销号；
    管理页面（/admin）供巡察整改工作办公室查看台账、审批情况和下载报告。"""
    if ctx.invoked_subcommand is not None:
        return
    from rectify_core.web import app as web

    app: App = ctx.obj
    if base_url and not base_url.startswith(("http://", "https://")):
        raise RectifyError(f"--base-url 须以 http:// 或 https:// 开头：{base_url}")
    links.web_secret()  # refused here, in words, rather than in every worker
    app.engine.dispose()  # migrated; each worker opens its own connections
    _ = app.settings  # a config error is reported before the server starts
    store = data_dir or db.default_database_path().parent / "uploads"
    os.environ.update({"RECTIFY_DATABASE_URL": app.url, web.STORE_ENV: str(store.resolve())})
    if app.config is not None:
        os.environ["RECTIFY_CONFIG_DIR"] = str(app.config.resolve())
    if base_url:
        os.environ[web.BASE_URL_ENV] = base_url
        with db.transaction(app.engine) as session:  # digests sent elsewhere link here
            links.record_base_url(base_url.rstrip("/"), run_now(None), session=session)
    if not os.environ.get(links.ADMIN_ENV):
        click.echo(f"提示：未设置 {links.ADMIN_ENV}，管理页面 /admin 不可用。", err=True)
    click.echo(f"rectify web：http://{host}:{port}/ （{workers} 个工作进程；上传文件保存在 {store}；Ctrl-C 停止）",
               err=True)
    web.serve(host, port, workers=workers, proxy=proxy)


@web_group.command("link")
@click.option("--person", required=True, help="姓名。")
@click.option("--unit", required=True, help="单位。")
@click.pass_obj
def web_link_cmd(app: App, person: str, unit: str) -> None:
    """给某人签发一个个人链接（例如补发给没有收到督办通知的人）。"""
    secret = links.web_secret()
    assert secret is not None
    with db.session_factory(db.reader(app.engine))() as session:
        base = links.base_url(app.settings.web, session=session)
    if not base:
        raise RectifyError("请先在 config/web.toml 的 [web] 中设置 base_url（链接的对外地址），"
                           "或以 rectify web --base-url 启动一次")
    click.echo(links.LinkMaker(secret, base).url(unit, person, run_now(None)))


@web_group.command("revoke")
@click.option("--person", required=True, help="姓名。")
@click.option("--unit", required=True, help="单位。")
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.pass_obj
def web_revoke_cmd(app: App, person: str, unit: str, by: str) -> None:
    """收回某人已发出的全部个人链接（链接泄露或人员调离时）；下一次督办通知会带来新链接。"""
    with db.transaction(app.engine) as session:
        links.revoke(unit, person, by, run_now(None), session=session)
    click.echo(f"已收回 {unit} {person} 的全部个人链接。")


def run(group: click.Group, argv: list[str] | None) -> None:
    """Run a command group: user mistakes become a message and exit code, never a traceback."""
    try:
        group.main(args=argv, prog_name="rectify", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RectifyError as exc:
        click.echo(f"错误：{exc}" if not str(exc).startswith(("导入失败", "配置错误")) else str(exc),
                   err=True)
        sys.exit(exc.exit_code)
    except (OperationalError, SQLAlchemyDatabaseError) as exc:
        meaning = db.explain(exc)
        if meaning is None and not isinstance(exc, OperationalError):
            raise
        click.echo(f"错误：{meaning or f'无法访问数据库（{type(exc.orig).__name__}）'}。"
                   "数据库未作任何改动；请检查 --db 或 RECTIFY_DATABASE_URL。", err=True)
        sys.exit(3)


def main(argv: list[str] | None = None) -> None:
    """The core commands alone (the installed `rectify` adds serve, demo and deployments: flows.cli)."""
    run(cli, argv)
