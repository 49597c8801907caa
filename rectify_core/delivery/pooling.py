"""HTTP for the channels: one connection pool per sending thread, as `requests` would
behave if every message went through one `requests.Session`.

Apprise's plugins (and rectify's own work-platform plugins) call `requests.post(...)`,
which builds a session for every message: a new TCP connection (and TLS handshake) per
message, the proxy variables, the CA bundle variables and `~/.netrc` read again each
time. A deliverer sends thousands of messages to a handful of hosts, so each of its
threads keeps one session here, and what the environment says about a host is read once
per process (the environment of a process does not change under it). Nothing else
changes: a call's own proxies, certificate checks and credentials win over the
environment's exactly as in `requests`, and no cookie is ever kept (one person's message
must not carry what a server set on another's).
"""

from __future__ import annotations

import functools
import http.cookiejar
import os
import sys
import threading
import types
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.utils

_local = threading.local()


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def session() -> requests.Session:
    """This thread's session (made on its first message)."""
    found: requests.Session | None = getattr(_local, "session", None)
    if found is None:
        found = _local.session = requests.Session()
        found.trust_env = False  # the environment is applied by `request`, read once a host
        found.cookies.set_policy(_NoCookies())
    return found


@functools.lru_cache(maxsize=256)
def _environment(origin: str) -> tuple[dict[str, str], str | None, Any]:
    """What `requests` takes from the environment for a host: its proxies (after
    no_proxy), the CA bundle named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, and its
    credentials in ~/.netrc."""
    proxies = requests.utils.get_environ_proxies(origin)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return dict(proxies), bundle, requests.utils.get_netrc_auth(origin)


def request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """`requests.request` through this thread's session, with the environment applied
    as a fresh session (trust_env) would apply it."""
    parts = urlsplit(url)
    proxies, bundle, netrc = _environment(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/")
    kwargs["proxies"] = {**proxies, **(kwargs.get("proxies") or {})}
    if kwargs.get("verify", True) in (True, None) and bundle:
        kwargs["verify"] = bundle
    if not kwargs.get("auth") and netrc:
        kwargs["auth"] = netrc
    return session().request(method, url, **kwargs)


def _verb(method: str, **defaults: Any) -> Any:
    """`requests.get`, `post`…: their positional parameters and defaults, pooled."""
    names = {"GET": ("params",), "POST": ("data", "json"), "PUT": ("data",), "PATCH": ("data",)}.get(method, ())

    def call(url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.update(zip(names, args, strict=False))
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        return request(method, url, **kwargs)

    return call


class _Requests(types.ModuleType):
    """The `requests` module as a plugin module sees it: its calls pooled, the rest
    (exceptions, codes, structures) the real module's."""

    request = staticmethod(request)
    get = staticmethod(_verb("GET", allow_redirects=True))
    options = staticmethod(_verb("OPTIONS", allow_redirects=True))
    head = staticmethod(_verb("HEAD", allow_redirects=False))
    post = staticmethod(_verb("POST"))
    put = staticmethod(_verb("PUT"))
    patch = staticmethod(_verb("PATCH"))
    delete = staticmethod(_verb("DELETE"))

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)


POOLED = _Requests("requests")


def pool(module_name: str) -> None:
    """Let a plugin's module send through the pooled calls (once; a module that did not
    import `requests` itself is left as it is)."""
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "requests", None) is requests:
        setattr(module, "requests", POOLED)  # noqa: B010 - replacing a module attribute
