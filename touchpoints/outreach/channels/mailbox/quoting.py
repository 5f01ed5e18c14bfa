"""Where the new part of a reply ends and the quoted history begins, so the conversation can fold it away.

Recognised: attribution lines ("On … wrote:", "2026年12月1日 10:00 … wrote:", "…さんは書きました:", "… のメッセージ:"),
Outlook's "-----Original Message-----" / 「-----元のメッセージ-----」 and its header block ("From:"/「差出人:」 followed
by "Sent:"/「送信日時:」), and a trailing block of ``>`` lines. The message is always kept whole.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"""^\s*(
        on\s.{1,200}\bwrote:?\s*$                                   # Gmail, Apple Mail (English)
      | \d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,200}(wrote|書きました|のメッセージ|のメール)\s*[:：]?\s*$
      | \d{4}[/-]\d{1,2}[/-]\d{1,2}.{0,200}(wrote|書きました|のメッセージ|のメール)\s*[:：]?\s*$
      | \d{4}\s*[年/-].{0,200}<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$  # Gmail (ja): "…日(火) 10:00 名前 <addr>:"
      | .{1,200}(さんは書きました|は書きました|が書きました|wrote)\s*[:：]\s*$
      | -{2,}\s*(original\s+message|元のメッセージ|forwarded\s+message|転送されたメッセージ)\s*-{2,}\s*$
      | _{10,}\s*$                                                  # Outlook's rule above its header block
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_HEADER_FROM = re.compile(r"^\s*\**\s*(from|差出人|送信者)\s*\**\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\**\s*(sent|date|送信日時|日付|to|宛先|件名|subject)\s*\**\s*[:：]", re.IGNORECASE)


def split_quoted(text: str) -> tuple[str, str]:
    """(the new part, the quoted history) of ``text``; the history is "" when none is recognised."""
    lines = (text or "").split("\n")
    for index, line in enumerate(lines):
        if index == 0:
            continue  # a message that is only a quote is shown as it is
        if _ATTRIBUTION.match(line) or (
            _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(nxt) for nxt in lines[index + 1 : index + 4])
        ):
            return _cut(lines, index)
    # Bottom-quoted: from the first > line after which every non-empty line is quoted.
    start = None
    for index in range(len(lines) - 1, 0, -1):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if stripped.startswith(">"):
            start = index
        else:
            break
    if start is not None:
        return _cut(lines, start)
    return text, ""


def _cut(lines: list[str], index: int) -> tuple[str, str]:
    new = "\n".join(lines[:index]).rstrip()
    if not new.strip():
        return "\n".join(lines), ""
    return new, "\n".join(lines[index:]).strip("\n")
