"""Work notices to one person through the WeCom and DingTalk open APIs, as Apprise plugins
(Apprise's own custom-plugin mechanism, `apprise.decorators.notify`), so the URLs work
wherever an Apprise URL does:

    wecomapp://CORPID:SECRET@AGENTID/TARGET[?api=BASE][&uid=USERID]    企业微信应用消息 (textcard)
    dingwork://APPKEY:APPSECRET@AGENTID/TARGET[?api=BASE][&uid=USERID]  钉钉工作通知 (action_card)

TARGET is a mobile number, looked up once as the platform's user id (WeCom
`/cgi-bin/user/getuserid`, DingTalk `/topapi/v2/user/getbymobile`), or `@USERID`. `uid=`
gives a user id already known for that mobile: it is used, and looked up again only when
the platform says it is invalid. `api=` points at a private deployment (政务微信, 政务钉钉)
or a local stand-in. When the body's last line is a link, it becomes the card's button
(办理); without one a plain text message goes.

Access tokens are fetched once per process and kept until `expires_in` runs out; an
expired or invalid token is fetched again once and the send retried. What each send
learned (the user id found, one found invalid, the platform's message or task id) and
why a send failed (permanently: unknown user, bad credentials; or for a retry later: rate
limits, a busy platform) is left for rectify in `outcomes()`; rectify remembers user ids
in its database and the task id in its journal. The mobile number appears only masked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import requests
import urllib3
from apprise.decorators import notify as apprise_notify

from rectify_core import masking
from rectify_core.delivery import pooling

log = logging.getLogger("apprise.rectify")  # Apprise's own logger: its callers capture or show it
TIMEOUT = (5, 20)  # connect, read (seconds)


@dataclass
class Outcome:
    """What one send to one person came to."""

    platform: str
    account: str
    mobile: str | None
    ok: bool = False
    userid: str | None = None   # the user id the notice went to
    learned: bool = False       # looked up by mobile in this send (rectify remembers it)
    forgot: bool = False        # the user id rectify knew was refused (rectify forgets it)
    ref: str | None = None      # the platform's message id (WeCom msgid, DingTalk task_id)
    permanent: bool = False
    error: str = ""


_local = threading.local()


def reset() -> None:
    _local.outcomes = []


def outcomes() -> list[Outcome]:
    """What the sends made in this thread since `reset()` came to."""
    found: list[Outcome] = getattr(_local, "outcomes", [])
    return found


def masked(mobile: str | None) -> str:
    digits = mobile or ""
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


class ApiError(Exception):
    def __init__(self, message: str, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent, self.code = permanent, code


@dataclass(frozen=True)
class Platform:
    """One open API: its endpoints and what its error codes mean."""

    scheme: str
    name: str
    default_api: str
    token_path: str
    token_keys: tuple[str, str]      # the query names of the account and the secret
    lookup_path: str
    send_path: str
    token_errors: frozenset[int]     # the token expired or is invalid: fetch it again once
    rate_errors: frozenset[int]      # too many calls: retry later
    unknown_user: frozenset[int]     # no member with that mobile
    invalid_user: frozenset[int]     # the user id is not (or no longer) valid
    bad_config: dict[int, str] = field(default_factory=dict)  # wrong credentials, untrusted IP...

    def userid_of(self, answer: dict[str, Any]) -> str | None:
        found = answer.get("userid") if self.scheme == "wecomapp" else (answer.get("result") or {}).get("userid")
        return str(found) if found else None

    def refused_user(self, answer: dict[str, Any], userid: str) -> bool:
        if _code(answer) in self.invalid_user:
            return True
        invalid = str(answer.get("invaliduser") or "")  # WeCom: sent, but not to these
        return userid in invalid.split("|")

    def message(self, agent: str, userid: str, title: str, text: str, link: str | None) -> dict[str, Any]:
        if self.scheme == "wecomapp":
            body: dict[str, Any] = {"touser": userid, "agentid": _agent(agent), "enable_duplicate_check": 0}
            if link:
                return {**body, "msgtype": "textcard", "textcard": {
                    "title": cut(title, 128), "description": cut(text, 512), "url": link, "btntxt": "办理"}}
            return {**body, "msgtype": "text", "text": {"content": cut(f"{title}\n{text}", 2048)}}
        if link:
            card = {"title": cut(title, 128), "markdown": cut(text, 5000), "single_title": "办理", "single_url": link}
            msg: dict[str, Any] = {"msgtype": "action_card", "action_card": card}
        else:
            msg = {"msgtype": "markdown", "markdown": {"title": cut(title, 128), "text": cut(text, 5000)}}
        return {"agent_id": _agent(agent), "userid_list": userid, "msg": msg}

    def ref_of(self, answer: dict[str, Any]) -> str | None:
        ref = answer.get("msgid") if self.scheme == "wecomapp" else answer.get("task_id")
        return str(ref) if ref not in (None, "") else None


WECOM = Platform(
    "wecomapp", "企业微信", "https://qyapi.weixin.qq.com", "/cgi-bin/gettoken", ("corpid", "corpsecret"),
    "/cgi-bin/user/getuserid", "/cgi-bin/message/send",
    token_errors=frozenset({40014, 42001, 41001}), rate_errors=frozenset({45009, 45033, -1}),
    unknown_user=frozenset({46004, 60111}), invalid_user=frozenset({40003, 60111, 81013}),
    bad_config={40001: "应用 Secret 不正确", 40013: "企业 ID（CorpID）不正确", 40056: "应用 AgentID 不正确",
                60020: "服务器 IP 不在应用的企业可信 IP 中", 48002: "应用没有调用该接口的权限",
                60011: "应用无权访问该成员（可见范围）", 301002: "应用无权访问该成员（可见范围）"})
DINGTALK = Platform(
    "dingwork", "钉钉", "https://oapi.dingtalk.com", "/gettoken", ("appkey", "appsecret"),
    "/topapi/v2/user/getbymobile", "/topapi/message/corpconversation/asyncsend_v2",
    token_errors=frozenset({40014, 42001, 40001}), rate_errors=frozenset({90002, 90005, 90006, 90018, -1}),
    unknown_user=frozenset({60121}), invalid_user=frozenset({33012, 60121}),
    bad_config={40089: "AppKey 或 AppSecret 不正确", 60011: "应用没有通讯录读取权限",
                60020: "服务器 IP 不在应用的可信 IP 中", 40078: "应用没有发送工作通知的权限"})


def _agent(agent: str) -> int | str:
    return int(agent) if agent.isdigit() else agent


def _code(answer: dict[str, Any]) -> int:
    code = answer.get("errcode", 0)
    if isinstance(code, float) and code.is_integer():  # 0.0 is 0: a message that went is not sent again
        code = int(code)
    if code == 88 and str(answer.get("sub_code", "")).isdigit():  # DingTalk's newer wrapping
        code = int(answer["sub_code"])
    return int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else -1


def cut(text: str, limit: int) -> str:
    """Within `limit` UTF-8 bytes, at a character edge, marked when cut."""
    data = text.encode()
    return text if len(data) <= limit else data[: limit - 3].decode(errors="ignore") + "…"


# --- the HTTP exchanges ---------------------------------------------------------------------

MAX_ANSWER = 2**20  # the platforms answer in a few hundred bytes: more is not an answer


def _call(platform: Platform, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = pooling.request(method, url, timeout=TIMEOUT, stream=True, **kwargs)
        with response:
            body = response.raw.read(MAX_ANSWER + 1, decode_content=True)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise ApiError(f"{platform.name}接口无法连接（{type(exc).__name__}），稍后重试", permanent=False) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise ApiError(f"{platform.name}接口暂时不可用（HTTP {response.status_code}），稍后重试", permanent=False)
    if len(body) > MAX_ANSWER:
        raise ApiError(f"{platform.name}接口的应答超过 {MAX_ANSWER // 2**20} MB，不是接口应答，稍后重试",
                       permanent=False)
    try:
        answer = json.loads(body)
    except ValueError:
        # a gateway's error page (HTML with HTTP 200) says nothing of the message: tried again
        raise ApiError(f"{platform.name}接口的应答无法识别（HTTP {response.status_code}），稍后重试",
                       permanent=False) from None
    if not isinstance(answer, dict):
        raise ApiError(f"{platform.name}接口的应答无法识别", permanent=False)
    return answer


def _failed(platform: Platform, answer: dict[str, Any], doing: str) -> ApiError:
    code = _code(answer)
    said = str(answer.get("errmsg") or answer.get("sub_msg") or "")[:100]
    if code in platform.rate_errors:
        return ApiError(f"{platform.name}{doing}受到频率限制（{code}），稍后重试", permanent=False, code=code)
    if code in platform.bad_config:
        return ApiError(f"{platform.name}{doing}失败（{code}）：{platform.bad_config[code]}，请管理员检查应用设置",
                        permanent=True, code=code)
    return ApiError(f"{platform.name}{doing}失败（{code} {said}）", permanent=False, code=code)


class _Tokens:
    """Access tokens, one fetch per (platform, API, account, secret) per process, kept
    until `expires_in` (less a minute) has passed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: dict[tuple[str, str, str, str], tuple[str, float]] = {}

    def get(self, p: Platform, api: str, account: str, secret: str, stale: str | None = None) -> str:
        key = (p.scheme, api, account, hashlib.sha256(secret.encode()).hexdigest())
        with self.lock:  # threads of one run wait for one fetch
            token, until = self.kept.get(key, ("", 0.0))
            if token and token != stale and until > time.monotonic():
                return token
            answer = _call(p, "GET", api + p.token_path, params=dict(zip(p.token_keys, (account, secret), strict=True)))
            if _code(answer) != 0 or not answer.get("access_token"):
                raise _failed(p, answer, "获取访问令牌")
            token = str(answer["access_token"])
            masking.remember(token)
            life = int(answer.get("expires_in") or 7200)
            self.kept[key] = (token, time.monotonic() + max(life - 60, life // 2))
            return token

    def clear(self) -> None:
        with self.lock:
            self.kept.clear()


TOKENS = _Tokens()


@dataclass
class _Send:
    """One person's notice on one platform: the token, the lookup and the retries."""

    p: Platform
    api: str
    account: str
    secret: str
    agent: str
    out: Outcome

    def token(self, stale: str | None = None) -> str:
        return TOKENS.get(self.p, self.api, self.account, self.secret, stale)

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the token; an expired or invalid one is fetched again once."""
        token = self.token()
        answer = _call(self.p, "POST", self.api + path, params={"access_token": token}, json=payload)
        if _code(answer) in self.p.token_errors:
            answer = _call(self.p, "POST", self.api + path, params={"access_token": self.token(stale=token)},
                           json=payload)
        return answer

    def lookup(self, mobile: str) -> str:
        answer = self.post(self.p.lookup_path, {"mobile": mobile})
        code = _code(answer)
        if code in self.p.unknown_user:
            raise ApiError(f"{self.p.name}中找不到手机号 {masked(mobile)} 对应的成员（{code}），"
                           "请核对 contacts.toml 中的 mobile，或确认其已加入企业通讯录", permanent=True, code=code)
        userid = self.p.userid_of(answer)
        if code != 0 or not userid:
            raise _failed(self.p, answer, "按手机号查找成员")
        self.out.learned, self.out.userid = True, userid
        return userid

    def deliver(self, userid: str | None, title: str, text: str, link: str | None) -> None:
        mobile = self.out.mobile
        if userid is None:
            if not mobile:
                raise ApiError(f"{self.p.name}消息没有收件人（缺少手机号或用户 ID）", permanent=True)
            userid = self.lookup(mobile)
        for again in (True, False):
            answer = self.post(self.p.send_path, self.p.message(self.agent, userid, title, text, link))
            if self.p.refused_user(answer, userid):
                if again and mobile and not self.out.learned:
                    self.out.forgot = True
                    userid = self.lookup(mobile)
                    continue
                raise ApiError(f"{self.p.name}拒绝了该成员（{_code(answer)}），请核对其手机号 {masked(mobile)} "
                               "和应用的可见范围", permanent=True, code=_code(answer))
            if _code(answer) != 0:
                raise _failed(self.p, answer, "发送消息")
            self.out.ok, self.out.userid, self.out.ref = True, userid, self.p.ref_of(answer)
            return


def _link_of(body: str) -> tuple[str, str | None]:
    """The body's last line, when it is a link, is the card's button."""
    lines = body.rstrip().splitlines()
    if lines and lines[-1].strip().startswith(("http://", "https://")):
        return "\n".join(lines[:-1]).rstrip(), lines[-1].strip()
    return body, None


def _send(p: Platform, body: str, title: str, meta: dict[str, Any]) -> bool:
    qsd = meta.get("qsd") or {}
    api = str(qsd.get("api") or p.default_api).rstrip("/")
    account, secret, agent = str(meta.get("user") or ""), str(meta.get("password") or ""), str(meta.get("host") or "")
    masking.remember(secret)
    targets = [t for t in str(meta.get("fullpath") or meta.get("path") or "").split("/") if t]
    text, link = _link_of(body)
    if not targets:
        log.warning("%s 地址中没有收件人（/手机号 或 /@用户ID）", p.name)
    ok = bool(targets)
    for target in targets:
        mobile = None if target.startswith("@") else target
        out = Outcome(p.scheme, account, mobile)
        outcomes().append(out)
        userid = target[1:] if target.startswith("@") else (str(qsd["uid"]) if qsd.get("uid") else None)
        try:
            if not (account and secret and agent):
                raise ApiError(f"{p.name}地址不完整：应为 {p.scheme}://账号:密钥@应用ID/手机号", permanent=True)
            _Send(p, api, account, secret, agent, out).deliver(userid, title, text, link)
        except ApiError as exc:
            out.permanent, out.error = exc.permanent, str(exc)
            log.warning("%s", exc)
        ok = ok and out.ok
    return ok


Plugin = Callable[..., bool]
register = cast(Callable[..., Callable[[Plugin], Plugin]], apprise_notify)


@register(on="wecomapp", name="企业微信应用消息")
def wecom_app(body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
    return _send(WECOM, body, title, meta)


@register(on="dingwork", name="钉钉工作通知")
def dingtalk_work(body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
    return _send(DINGTALK, body, title, meta)
