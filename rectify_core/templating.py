"""One Jinja environment for everything rectify writes from a template: digests (HTML,
Markdown, plain text), the dashboard and the web pages. HTML templates are autoescaped,
the others are not; every template reads the vocabulary's words as `vocab`. The templates
ship with the package, so they are compiled once and never checked for changes."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from rectify_core import HOME
from rectify_core.vocab import template_words

TEMPLATES = HOME / "templates"
WEB_TEMPLATES = TEMPLATES / "web"  # the pages' own, found by their bare names too

ENV = Environment(loader=FileSystemLoader([TEMPLATES, WEB_TEMPLATES]), undefined=StrictUndefined,
                  autoescape=select_autoescape(["html.j2", "html"]), trim_blocks=True, lstrip_blocks=True,
                  auto_reload=False)
ENV.globals["vocab"] = template_words()


def template(name: str, /) -> Template:
    return ENV.get_template(name)


def render(name: str, /, **context: Any) -> str:
    return ENV.get_template(name).render(**context)


def names() -> list[str]:
    """Every template's name, for the check that they all compile."""
    return ENV.list_templates(filter_func=lambda n: n.endswith(".j2") and not n.startswith("web/"))
