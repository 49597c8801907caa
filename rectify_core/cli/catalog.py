"""The core commands: name → (module under rectify_core.cli, attribute, the help's first
paragraph). `rectify --help` reads the help from here, so it imports no command module; a
command's module is imported when the command runs. The tests check every entry against
its command; after adding a command or changing a help text, run
`python -m rectify_core.cli.catalog` to write this file again."""

from __future__ import annotations

CATALOG: dict[str, tuple[str, str, str]] = {
    'import': ('ledger', 'import_cmd',
        '导入整改进展报告（.txt/.docx/.pdf）或整改台账（.xlsx/.csv/.xls），格式按内容自动识别。'),
    'imports': ('ledger', 'imports_group',
        '列出导入批次（时间、轮次、文件、新增/更新/不一致数量、是否已撤销）。'),
    'items': ('ledger', 'items_cmd',
        '列出台账中的问题（有多个被巡察单位时按单位分列）。'),
    'show': ('ledger', 'show_cmd',
        '显示一个问题的完整记录：整改措施、延期、销号、进展、提醒和事件。 序号是台账中的序号；本次台账未列出的问题写原序号（如 原13）。'),
    'rounds': ('ledger', 'rounds_group',
        '列出巡察轮次：编号、单位、名称、巡察组、反馈日期、填报日期、第一责任人、问题数。'),
    'audit': ('ledger', 'audit_cmd',
        '核对报告概述中的数字与正文是否一致（不写数据库）。'),
    'check': ('delivery', 'check_cmd',
        '计算某一天每个未完成问题的时限、剩余工作日、红黄绿灯和应提醒的人（只计算，不发送）。'),
    'notify': ('delivery', 'notify_cmd',
        '计划当天的提醒，写入发件箱，按人合并成一条摘要发送，并报告结果。'),
    'outbox': ('delivery', 'outbox_cmd',
        '列出发件箱中的通知（最新的在前）；outbox resend 重发已放弃的通知。'),
    'mailsink': ('delivery', 'mailsink_cmd',
        '在本机启动一个测试用邮件服务器，把收到的每封邮件存为 .eml 文件（Ctrl-C 停止）。'),
    'extend': ('actions', 'extend_cmd',
        '记录一次经批准的延期：写入事件记录，计入延期次数（受上限约束）。'),
    'progress': ('actions', 'progress_cmd',
        '报送一个未完成问题的整改进展（之后导入的台账不会覆盖它）。完成整改请用 close 销号。'),
    'reassign': ('actions', 'reassign_cmd',
        '人员变动：把某人负责的全部未完成问题移交给接任者，待发的提醒一并转给接任者。'),
    'close': ('actions', 'close_cmd',
        '销号：凭佐证材料并经第二人核验，把问题标为已完成并记录。'),
    'withdraw': ('actions', 'withdraw_cmd',
        '撤销一个问题（如台账已删去、经巡察办同意）：不再提醒，不计入统计和报告，保留理由和记录。 序号是台账中的序号；本次台账未列出的问题写原序号（如 原13）。rectify reinstate 可恢复。'),
    'merge': ('actions', 'merge_cmd',
        '把一个问题合并到另一个问题（如新台账把两条并成一条）：它的记录并入另一个问题的事件记录， 自身不再提醒、不计入统计。rectify reinstate 可恢复。'),
    'reinstate': ('actions', 'reinstate_cmd',
        '恢复一个被撤销或合并的问题：回到撤销或合并之前的状态，重新提醒和计入统计。'),
    'report': ('documents', 'report_cmd',
        '生成整改进展情况报告（Word 按公文格式，或纯文本、Markdown、网页），可再导入 rectify 核对。'),
    'export': ('documents', 'export_cmd',
        '导出 Excel 整改台账：按红黄绿灯着色，含统计表（多个轮次时每个轮次一个工作表，另有汇总表）， 保留台账自有的列（备注等）；可再导入 rectify，回到各自的轮次。'),
    'dashboard': ('documents', 'dashboard_cmd',
        '生成整改进展看板：一个离线可用的 HTML 文件（单位排名、各单位的方面和部门、逾期、升级督办、回头看）。'),
    'bulletin': ('documents', 'bulletin_cmd',
        '生成巡察整改情况通报（Word，公文格式）：总体情况、各单位排名表、逾期问题（按单位）、未按时报送进展的单位。'),
    'lookback': ('lookback', 'lookback_group',
        '回头看：抽查已销号问题，防止反弹回潮。'),
    'web': ('web', 'web_group',
        '个人办理页面：每份督办通知带一个只属于收件人的链接，可确认已阅、报送进展、申请延期或销号； 管理页面（/admin）供巡察整改工作办公室查看台账、审批情况和下载报告。'),
    'backup': ('records', 'backup_cmd',
        '备份：数据库的一致副本连同佐证材料和上传文件，写成一个文件；其他程序（notify、serve、 rectify web）运行时也可以备份。PostgreSQL 需要 pg_dump。'),
    'restore': ('records', 'restore_cmd',
        '从备份文件恢复数据库和文件。只恢复到空数据库，已有数据须加 --force（会先自动备份）； 先检查备份文件完整，旧版本的备份恢复后自动升级数据库结构。'),
    'archive': ('records', 'archive_cmd',
        '整改档案：整改情况报告（Word）、整改台账（Excel）、每个问题的全过程记录、佐证材料和 上传文件，以及列明每个文件 SHA-256 的清单，打包成一个 .zip，不需要 rectify 也能打开。'),
    'units': ('units', 'units_group',
        '被巡察单位：简称、署名单位、轮次、问题数、未完成、逾期、账号数。'),
    'accounts': ('units', 'accounts_group',
        '管理页面（/admin）的账号：单位管理员只管本单位，巡察办管全部单位，只读账号只能查看。'),
    'people': ('people', 'people_group',
        '人员名录：姓名、单位、部门、职务、角色、电子邮箱、手机号、通知渠道（按名称选用管理员配置的渠道）。'),
    'scores': ('scores', 'scores_cmd',
        '结果考评：按各单位自己的整改记录打分（按期完成、逾期、延期、反弹、回应提醒、销号佐证、报送进展），说明每一项扣分，并可按季度固定结果。'),
    'calendar': ('calendar', 'calendar_group',
        '工作日历：哪些年份按国务院办公厅公布的节假日安排计算，哪些年份为估算；calendar import 读入新一年的通知。'),
}


def first_paragraph(text: str | None) -> str:
    """What the command list shows of a help text: its first paragraph, on one line."""
    return " ".join((text or "").split("\n\n")[0].split())


def _write() -> None:
    import importlib
    from pathlib import Path

    here = Path(__file__)
    lines = []
    for name, (module, attribute, _) in CATALOG.items():
        command = getattr(importlib.import_module(f"rectify_core.cli.{module}"), attribute)
        assert command.name == name, f"{module}.{attribute} is named {command.name}"
        lines.append(f"    {name!r}: ({module!r}, {attribute!r},\n        {first_paragraph(command.help)!r}),\n")
    text = here.read_text(encoding="utf-8")
    start, end = text.index("CATALOG: dict"), text.index("\n}\n")
    here.write_text(text[:start] + "CATALOG: dict[str, tuple[str, str, str]] = {\n" + "".join(lines) + text[end + 1:],
                    encoding="utf-8")


if __name__ == "__main__":
    _write()
