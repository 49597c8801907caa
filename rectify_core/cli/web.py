"""rectify web: the personal-page server, and links issued or revoked by hand."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy import func, select

from rectify_core.cli.app import App
from rectify_core.config.calendar import run_now
from rectify_core.config.web import ADMIN_ENV, admin_token, web_secret
from rectify_core.delivery import links
from rectify_core.errors import RectifyError
from rectify_core.ledger import db
from rectify_core.ledger.models import Account


@click.group("web", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址（默认只在本机；对外请放在 HTTPS 反向代理之后）。")
@click.option("--port", type=int, default=8000, show_default=True, help="监听端口。")
@click.option("--base-url", "base_url",
              help="链接的对外地址（覆盖 web.toml 的 base_url），例如 https://rectify.example.gov.cn。")
@click.option("--data-dir", "data_dir", type=click.Path(path_type=Path),
              help="上传文件和佐证材料的保存目录（默认为环境变量 RECTIFY_FILES_DIR，"
                   "或 SQLite 数据库文件旁的 uploads/）。")
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
    web_secret()  # refused here, in words, rather than in every worker
    admin_token()
    app.engine.dispose()  # migrated; each worker opens its own connections
    _ = app.settings  # a config error is reported before the server starts
    store = data_dir or app.files
    os.environ.update({"RECTIFY_DATABASE_URL": app.url, web.STORE_ENV: str(store.resolve())})
    if app.config is not None:
        os.environ["RECTIFY_CONFIG_DIR"] = str(app.config.resolve())
    if base_url:
        os.environ[web.BASE_URL_ENV] = base_url
        with db.transaction(app.engine) as session:  # digests sent elsewhere link here
            links.record_base_url(base_url.rstrip("/"), run_now(None), session=session)
    click.echo(admin_status(app), err=True)
    click.echo(f"rectify web：http://{host}:{port}/ （{workers} 个工作进程；上传文件保存在 {store}；Ctrl-C 停止）",
               err=True)
    with db.present(app.url):  # a restore is refused while the pages run
        web.serve(host, port, workers=workers, proxy=proxy)


def admin_status(app: App) -> str:
    """What the start-up line says of /admin, as it is: signed in with the accounts, or
    (while no account exists) with the bootstrap token, or not at all."""
    with db.session_factory(db.reader(app.engine))() as session:
        accounts = session.scalar(select(func.count()).select_from(Account)) or 0
    if accounts:
        return f"管理页面 /admin：{accounts} 个账号可登录（rectify accounts 可列出）。"
    if os.environ.get(ADMIN_ENV):
        return (f"管理页面 /admin：还没有账号，暂可用 {ADMIN_ENV} 登录（添加账号后失效；"
                "rectify accounts add 可添加）。")
    return (f"提示：还没有 /admin 账号，也未设置 {ADMIN_ENV}，管理页面 /admin 暂不可用"
            "（rectify accounts add 可添加账号）。")


@web_group.command("link")
@click.option("--person", required=True, help="姓名（须是该单位问题的责任人、责任领导，或联系人中的人）。")
@click.option("--unit", required=True, help="单位（全称或简称）。")
@click.pass_obj
def web_link_cmd(app: App, person: str, unit: str) -> None:
    """给某人签发一个个人链接（例如补发给没有收到督办通知的人）。"""
    secret = web_secret()
    assert secret is not None
    with db.session_factory(db.reader(app.engine))() as session:
        directory = app.directory(session)
        unit_name, key = links.known_person(unit, person, directory, session=session)
        held = links.open_items_of(unit_name, key, session=session)
        base = links.base_url(app.settings.web, session=session)
    if not base:
        raise RectifyError("请先在 config/web.toml 的 [web] 中设置 base_url（链接的对外地址），"
                           "或以 rectify web --base-url 启动一次")
    click.echo(links.LinkMaker(secret, base).url(unit_name, person.strip(), run_now(None)))
    note = f"{unit_name} {person.strip()}：未完成的问题 {held} 个" if held else \
        f"注意：{unit_name} {person.strip()} 目前没有未完成的问题，页面将显示“暂无需要办理的问题”"
    click.echo(note, err=True)


@web_group.command("revoke")
@click.option("--person", required=True, help="姓名。")
@click.option("--unit", required=True, help="单位。")
@click.option("--by", "by", default="rectify", show_default=True, help="操作人。")
@click.pass_obj
def web_revoke_cmd(app: App, person: str, unit: str, by: str) -> None:
    """收回某人已发出的全部个人链接（链接泄露或人员调离时）；下一次督办通知会带来新链接。"""
    with db.transaction(app.engine) as session:
        directory = app.directory(session)
        known = links.revoke(unit, person, by, run_now(None), directory, session=session)
    click.echo(f"已收回 {known} {person} 的全部个人链接（不论链接中姓名的写法）。")
