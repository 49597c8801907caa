"""Keeping the record: backup, restore and the round's archive (整改档案)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from rectify_core.cli.app import DATE, App
from rectify_core.config.calendar import local_today, run_now, to_local
from rectify_core.errors import RectifyError
from rectify_core.ledger import backup
from rectify_core.ledger import restore as restoring


def size_text(size: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} 字节"


def _zip_output(path: Path) -> Path:
    if path.suffix.lower() != ".zip":
        raise RectifyError(f"输出文件 {path} 的扩展名应为 .zip")
    if path.is_dir():
        raise RectifyError(f"{path} 是文件夹，请写出文件名")
    return path


def taken_text(taken: backup.Taken) -> str:
    f = taken.facts
    files = len(f.files) - len(taken.missing)
    return (f"{taken.path}（{f.rounds} 个轮次，{f.items} 个问题，{f.events} 条记录，佐证和上传文件 {files} 个；"
            f"{size_text(taken.size)}）")


@click.command("backup")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True,
              help="备份文件（.zip）。")
@click.pass_obj
def backup_cmd(app: App, output: Path) -> None:
    """备份：数据库的一致副本连同佐证材料和上传文件，写成一个文件；其他程序（notify、serve、
    rectify web）运行时也可以备份。PostgreSQL 需要 pg_dump。"""
    taken = backup.take(app.url, app.files, _zip_output(output), run_now(None))
    click.echo(f"已备份：{taken_text(taken)}")
    if taken.missing:
        click.echo(f"注意：记录中有 {len(taken.missing)} 个文件在 {app.files} 中找不到，未能备份"
                   "（文件已被移走或删除）。", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="目标数据库已有数据时仍然恢复：先把当前数据库备份一份，再覆盖。")
@click.pass_obj
def restore_cmd(app: App, file: Path, force: bool) -> None:
    """从备份文件恢复数据库和文件。只恢复到空数据库，已有数据须加 --force（会先自动备份）；
    先检查备份文件完整，旧版本的备份恢复后自动升级数据库结构。"""
    done = restoring.restore(app.url, file, app.files, force=force, now=run_now(None),
                             safety_dir=app.files.parent / "backups")
    m = done.manifest
    made = to_local(dt.datetime.fromisoformat(m["created_at"])).strftime("%Y-%m-%d %H:%M")
    if done.safety is not None:
        click.echo(f"已先备份当前数据库：{taken_text(done.safety)}")
    c = done.counts
    click.echo(f"已恢复：{file}（{made} 的备份，{c['rounds']} 个轮次，{c['items']} 个问题，{c['events']} 条记录；"
               f"放回文件 {done.files} 个）")
    if done.held:
        click.echo(f"备份时有 {done.held} 条通知等待或正在发送，可能在备份之后已经送达：已暂停，不会自动发送。"
                   "核对后用 rectify outbox release 放行（或 rectify outbox release --all）。")
    if done.upgraded_from:
        click.echo(f"备份的数据库结构（{done.upgraded_from}）较旧，已升级到当前版本。")
    if m.get("missing_files"):
        click.echo(f"注意：备份时有 {len(m['missing_files'])} 个文件已找不到，未包含在备份中。", err=True)


@click.command("archive")
@click.option("--round", "round_id", type=int, help="只归档这个轮次（默认：全部轮次，每个单位一个文件夹）。")
@click.option("--unit", help="只归档这个单位的轮次。")
@click.option("--date", "day", type=DATE, help="材料截至日期（YYYY-MM-DD），默认为今天。")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True, help="档案文件（.zip）。")
@click.pass_obj
def archive_cmd(app: App, round_id: int | None, unit: str | None, day: dt.date | None, output: Path) -> None:
    """整改档案：整改情况报告（Word）、整改台账（Excel）、每个问题的全过程记录、佐证材料和
    上传文件，以及列明每个文件 SHA-256 的清单，打包成一个 .zip，不需要 rectify 也能打开。"""
    from rectify_core.documents import archive

    now = run_now(day)
    made = archive.write(app.engine, app.settings, app.files, _zip_output(output), local_today(now), now,
                         round_id=round_id, unit=unit)
    click.echo(f"已生成整改档案：{output}（{len(made.rounds)} 个轮次，{made.items} 个问题，"
               f"佐证和上传文件 {made.files} 个，共 {made.entries} 个文件）")
    if made.missing:
        click.echo(f"注意：{len(made.missing)} 份佐证材料只有登记信息、文件已找不到：" + "；".join(made.missing[:5]),
                   err=True)
