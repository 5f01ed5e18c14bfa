"""Formatted message bodies: Markdown written by staff, sent as HTML mail with a plain-text part.

The editor is Markdown because it reads well as the plain-text part too. Raw HTML in the source is never
interpreted (markdown-it's ``html`` option is off, so ``<script>`` stays text), and the HTML that comes out is
sanitised again by nh3 with a short list of tags and http(s)/mailto links only. Phones get it readable by inline
styles (mail clients drop ``<style>`` blocks): a 600 px column, images never wider than the screen.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "h1", "h2", "h3", "h4",
    "blockquote", "hr", "img", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
# Inline, since most mail clients ignore a <style> block.
STYLES = {
    "img": "max-width:100%;height:auto;display:block;border:0;",
    "h1": "font-size:22px;line-height:1.4;margin:16px 0 8px;",
    "h2": "font-size:19px;line-height:1.4;margin:16px 0 8px;",
    "h3": "font-size:17px;line-height:1.4;margin:12px 0 6px;",
    "p": "margin:0 0 12px;",
    "a": "color:#0b5ed7;",
    "blockquote": "margin:0 0 12px;padding-left:12px;border-left:3px solid #ccc;color:#555;",
}
WRAPPER = (
    '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
    '<body style="margin:0;padding:0;background:#f6f6f6;">'
    '<div style="max-width:600px;margin:0 auto;padding:16px;background:#ffffff;color:#222;'
    "font-family:'Hiragino Sans','Noto Sans JP','Yu Gothic',Meiryo,Arial,sans-serif;font-size:15px;line-height:1.7;"
    'word-break:keep-all;overflow-wrap:anywhere;">{body}</div></body></html>'
)


def markdown_fragment(source: str, *, for_mail: bool = True) -> str:
    """The sanitised HTML of ``source``. For mail, with the inline styles; for the staff pages (whose Content
    Security Policy allows neither inline styles nor outside images), without them and with each image as a
    link to it."""
    if not for_mail:
        source = _IMAGE.sub(lambda m: f"[🖼 {m.group(1) or m.group(2)}]({m.group(2)})", source or "")
    html = _md.render(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={tag: {"style": style} for tag, style in STYLES.items()} if for_mail else None,
    )


def markdown_to_html(source: str, *, title: str = "", language: str = "ja") -> str:
    """A whole HTML mail body for ``source``, responsive on phones."""
    from html import escape

    return WRAPPER.format(lang=escape(language), title=escape(title), body=markdown_fragment(source))


_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_HEADING = re.compile(r"(?m)^ {0,3}#{1,6}\s+")


def markdown_to_text(source: str) -> str:
    """The plain-text part from the same source: links and images as "text (URL)", markers removed."""
    text = (source or "").replace("\r\n", "\n")
    text = _IMAGE.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(1) else f"({m.group(2)})", text)
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _HEADING.sub("", text)
