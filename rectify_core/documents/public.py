"""巡察整改进展情况 for publication (巡察整改情况公开): the form units publish their
rectification in — who inspected and when the feedback came, the overall figures, then the
aspects and problems with what was done in prose and their status — without anyone's name,
deadline, department or the office's own notes. rectify's report importer reads it back to
the same items and statuses."""

from __future__ import annotations

import html

from rectify_core.documents.report import Para, day_text, org_of, preamble, problems, summary_sentence
from rectify_core.ledger.view import RoundView

KEPT_FIELDS = ("整改情况：", "完成情况：")  # what the public version says of each problem


def build(view: RoundView) -> list[Para]:
    """The public version as paragraphs with their roles (as the report's)."""
    org = org_of(view.unit)
    paras = [Para("title", f"{org}关于巡察整改进展情况的通报"),
             Para("body", preamble(view, "现将巡察整改进展情况予以公布。")),
             Para("h1", "一、组织整改落实情况"),
             Para("body", f"{view.unit}把抓好巡察整改作为重要政治任务，逐条对照反馈问题制定整改措施，"
                          "明确责任、限定时间，扎实推进整改落实。"),
             Para("body", summary_sentence(view)),
             Para("h1", "二、集中整改期内整改进展情况")]
    paras += [p for p in problems(view) if p.role != "field" or p.text.startswith(KEPT_FIELDS)]
    paras += [Para("h1", "三、下一步工作打算"),
              Para("body", "对已完成整改的问题，适时开展“回头看”，巩固整改成果，防止反弹回潮；对阶段性完成和"
                           "正在推进的问题，持续跟踪督办，确保按期整改到位。"),
              Para("body", "欢迎广大干部群众对巡察整改落实情况进行监督。"),
              Para("signature", org), Para("signature", day_text(view.as_of))]
    return paras


def as_html(paras: list[Para]) -> str:
    """A page to publish as it is: the paragraphs in order, no script, no outside link."""
    tags = {"title": "h1", "h1": "h2", "h2": "h3", "h3": "h4", "item": "p class=\"item\"",
            "signature": "p class=\"signature\""}
    body = []
    for p in paras:
        tag = tags.get(p.role, "p")
        body.append(f"<{tag}>{html.escape(p.text)}</{tag.split()[0]}>")
    title = html.escape(next((p.text for p in paras if p.role == "title"), ""))
    style = ("body{font-family:'FangSong','仿宋',serif;max-width:46em;margin:2em auto;line-height:1.8;padding:0 1em}"
             "h1{text-align:center;font-size:1.6em}.signature{text-align:right}.item{font-weight:bold}")
    return (f"<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n"
            f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")

