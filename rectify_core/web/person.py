"""A person's pages behind their signed link: their items, one item whole, its files, and
the actions (已阅, progress, extension and closure requests, decisions). Every action is
one lifecycle transition, or a request that leads to one, with its event."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rectify_core.config.calendar import local_today
from rectify_core.delivery import links
from rectify_core.errors import NotFoundError, RefusedError
from rectify_core.ledger import approvals, db, lifecycle, obligations, uploads
from rectify_core.ledger.act import Act
from rectify_core.ledger.models import ItemRequest
from rectify_core.vocab import REQUEST_STATES, ItemState
from rectify_core.web import portal
from rectify_core.web.pages import (
    DONE_MESSAGES,
    Portal,
    PortalDep,
    RecordId,
    Refused,
    checked_form,
    csrf_cookie,
    date_field,
    downloadable,
    page,
    portal_of_request,
    store_files,
    text_field,
    with_csrf,
)

router = APIRouter(prefix="/p/{token}")
ACTIONS = ("ack", "progress", "extension", "closure")


async def holder_of(request: Request, token: str, portal_: PortalDep) -> links.Holder:
    """The person a link belongs to; refused (and counted) when it does not open."""
    with portal_.factory() as session:
        return portal_.holder(request, token, session)


HolderDep = Annotated[links.Holder, Depends(holder_of)]


async def item_holder(token: str, item_id: RecordId, portal_: PortalDep, holder: HolderDep) -> links.Holder:
    """The link's holder, for an item of theirs: refused before the body is read."""
    with portal_.factory() as session:
        try:
            portal.item_of(holder.unit, holder.name, item_id, local_today(portal_.clock()), session=session)
        except NotFoundError as exc:
            raise Refused(404, str(exc), f"/p/{quote(token)}") from None
    return holder


async def link_form(request: Request, token: str, portal_: PortalDep, holder: HolderDep) -> FormData:
    """A form posted from the holder's pages, its CSRF token checked."""
    return await checked_form(request, portal_, holder.link, f"/p/{quote(token)}")


async def item_form(request: Request, token: str, portal_: PortalDep,
                    holder: Annotated[links.Holder, Depends(item_holder)]) -> FormData:
    """A form posted about one of the holder's items, its CSRF token checked."""
    return await checked_form(request, portal_, holder.link, f"/p/{quote(token)}")


@router.get("", response_class=HTMLResponse)
async def person(request: Request, token: str, ok: str = "") -> Response:
    # the page people open most: its link is checked and its items read in one reading
    # session, inline (a thread hop and the pool's queue cost more than the local queries;
    # see bench/web_bench.py), without the dependency layers of the other routes
    portal_ = portal_of_request(request)
    with portal_.factory() as session:
        holder = portal_.holder(request, token, session)
        view = portal.person_view(holder.unit, holder.name, local_today(portal_.clock()), portal_.settings,
                                  session=session)
    cookie = csrf_cookie(request)
    shown = page("person.html.j2", view=view, token=token, csrf=portal_.csrf(cookie, holder.link),
                 done=DONE_MESSAGES.get(ok, ""), kinds=approvals.KIND_NAMES, by_hand=BY_HAND if holder.by_hand else "")
    return with_csrf(shown, request, cookie)


@router.get("/items/{item_id}", response_class=HTMLResponse)
async def item_page(request: Request, token: str, item_id: RecordId, portal_: PortalDep, holder: HolderDep,
                    ok: str = "") -> Response:
    cfg = portal_.settings.web
    with portal_.factory() as session:
        try:
            card = portal.item_view(holder.unit, holder.name, item_id, local_today(portal_.clock()),
                                    portal_.settings, session=session)
        except NotFoundError as exc:
            raise Refused(404, str(exc), f"/p/{quote(token)}") from None
    cookie = csrf_cookie(request)
    shown = page("item.html.j2", c=card, name=holder.name, token=token, csrf=portal_.csrf(cookie, holder.link),
                 done=DONE_MESSAGES.get(ok, ""), kinds=approvals.KIND_NAMES, states=REQUEST_STATES,
                 max_mb=cfg.max_upload_mb, max_files=cfg.max_files, allowed=cfg.allowed,
                 accept=",".join(f".{a}" for a in cfg.allowed))
    return with_csrf(shown, request, cookie)


async def known_action(token: str, action: str) -> str:
    if action not in ACTIONS:
        raise Refused(404, "没有这个操作。", f"/p/{quote(token)}")
    return action


@router.post("/items/{item_id}/{action}")
async def act(token: str, item_id: RecordId, action: Annotated[str, Depends(known_action)], portal_: PortalDep,
              holder: HolderDep, form: Annotated[FormData, Depends(item_form)]) -> Response:
    back = f"/p/{quote(token)}"
    files = await store_files(form, portal_, back) if action in ("progress", "closure") else []
    await run_in_threadpool(_act, portal_, holder, item_id, action, form, files, back)
    if action == "ack" and form.get("from") != "item":
        return RedirectResponse(f"{back}?ok={action}#item-{item_id}", status_code=303)
    return RedirectResponse(f"{back}/items/{item_id}?ok={action}", status_code=303)


BY_HAND = ("这个链接由管理页面签发，只能查看和报送；审批、退回和销号核验须由本人使用督办通知中收到的链接办理。")


@router.post("/requests/{request_id}/decide")
async def decide(token: str, request_id: RecordId, portal_: PortalDep, holder: HolderDep,
                 form: Annotated[FormData, Depends(link_form)]) -> Response:
    back = f"/p/{quote(token)}"
    verdict = form.get("decision")
    if holder.by_hand:
        raise Refused(403, BY_HAND, back)
    if verdict not in ("approve", "reject"):
        raise Refused(400, "请选择批准（核验通过）或退回。", back)
    await run_in_threadpool(_decide, portal_, holder, request_id, verdict == "approve", text_field(form, "note"),
                            back)
    return RedirectResponse(f"{back}?ok={'approved' if verdict == 'approve' else 'rejected'}", status_code=303)


@router.get("/files/{upload_id}")
def file(token: str, upload_id: RecordId, portal_: PortalDep, holder: HolderDep) -> Response:
    back = f"/p/{quote(token)}"
    with portal_.factory() as session:
        try:
            row = portal.upload_of(holder.unit, holder.name, upload_id, local_today(portal_.clock()),
                                   portal_.settings, session=session)
        except NotFoundError as exc:
            raise Refused(404, str(exc), back) from None
        path, name, media = uploads.path_of(portal_.store, row.sha256), row.name, row.media_type
    if not path.is_file():
        raise Refused(404, "文件已不在存储目录中，请联系巡察整改工作办公室。", back)
    return downloadable(path, name, media)


def _act(portal_: Portal, holder: links.Holder, item_id: int, action: str, form: FormData,
         files: list[uploads.Stored], back: str) -> None:
    act = Act.at(holder.name, portal_.clock(), {"via": "web", "link": holder.link})
    settings = portal_.settings
    try:
        with db.transaction(portal_.engine) as session:
            item, roles = portal.item_of(holder.unit, holder.name, item_id, act.today, session=session)
            if not portal.acts_on(roles):
                raise RefusedError("第一责任人可查看本单位的问题；报送进展和申请由责任人或责任领导办理")
            if action == "ack":
                lifecycle.acknowledge(item, act, session=session)
            elif action == "progress":
                status = ItemState.ONGOING if form.get("ongoing") == "1" else None
                evidence = uploads.record(files, item.id, act, session=session)
                lifecycle.record_progress(item, text_field(form, "text"), act, status=status, evidence=evidence,
                                          session=session)
            elif action == "extension":
                approvals.request_extension(item, holder.unit, date_field(form, "to"), text_field(form, "reason"),
                                            act, settings, session=session)
            else:
                evidence = uploads.record(files, item.id, act, session=session)
                approvals.request_closure(item, holder.unit, text_field(form, "text"), evidence, act,
                                          session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), back) from None
    except RefusedError as exc:
        raise Refused(409, str(exc), back) from None


def _decide(portal_: Portal, holder: links.Holder, request_id: int, approve: bool, note: str, back: str) -> None:
    act = Act.at(holder.name, portal_.clock(), {"via": "web", "link": holder.link})
    settings = portal_.settings
    try:
        with db.transaction(portal_.engine) as session:
            row = session.get(ItemRequest, request_id)
            directory = obligations.directory(settings, session=session)
            if row is None or row.item.round.unit.name != holder.unit \
                    or not approvals.may_decide(holder.name, row, row.item, directory):
                raise NotFoundError("没有找到这份申请，或它不需要您审批")
            approvals.decide(row, row.item, approve, note, act, settings, directory, session=session)
    except NotFoundError as exc:
        raise Refused(404, str(exc), back) from None
    except RefusedError as exc:
        raise Refused(409, str(exc), back) from None
