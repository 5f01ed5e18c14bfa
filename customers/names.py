"""People's names in the order their readers expect, for customers and staff alike.

The rule is by the name's script first, the reader's language second:

- A name written in Japanese script (kanji, hiragana, katakana) is family name first in every interface
  language — 「安藤 裕子」 stays 「安藤 裕子」 in English, as a Japanese person writes it.
- A name in Latin script (a Western customer, or staff entered as "Emily" / "Carter") is given name first in
  every interface language: a Japanese mail greets 「Charlotte Roberts様」, never 「Roberts Charlotte様」.

Honorifics are Japanese only: 様 for customers (what a shop writes to its customers), さん for colleagues.
English gets the bare name. ``{customer_name}`` in message templates stays bare because the templates write
「{customer_name}様」 themselves.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language

CUSTOMER = "customer"
STAFF = "staff"
HONORIFICS = {CUSTOMER: "様", STAFF: "さん"}


def is_japanese_script(text: str) -> bool:
    """True when the text holds a kanji or kana (CJK ideographs, hiragana, katakana, half-width katakana)."""
    for ch in text:
        code = ord(ch)
        if (
            0x3040 <= code <= 0x30FF  # hiragana, katakana
            or 0x3400 <= code <= 0x4DBF  # CJK extension A
            or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
            or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
            or 0xFF66 <= code <= 0xFF9F  # half-width katakana
            or 0x20000 <= code <= 0x2FFFF  # rarer kanji (𠮷)
            or ch in "々〆ヶ"
        ):
            return True
    return False


def person_name(family: str, given: str) -> str:
    """The full name in the order its script calls for; one part alone when the other is empty."""
    family, given = (family or "").strip(), (given or "").strip()
    if not family or not given:
        return family or given
    if is_japanese_script(family) or is_japanese_script(given):
        return f"{family} {given}"
    return f"{given} {family}"


def customer_display_name(customer: Any) -> str:
    return person_name(customer.family_name, customer.given_name)


def staff_name(user: Any) -> str:
    """A staff member's name (``last_name`` is the family name); their username when they have none; "" for
    no one."""
    if user is None:
        return ""
    name = person_name(getattr(user, "last_name", ""), getattr(user, "first_name", ""))
    return name or user.get_username()


def with_honorific(name: str, kind: str = CUSTOMER, *, language: str | None = None) -> str:
    """「高橋 美咲さん」 in Japanese, "Misaki Takahashi"... as it is in English; "" stays ""."""
    if not name:
        return name
    if (language or get_language() or "en").startswith("ja"):
        return f"{name}{HONORIFICS[kind]}"
    return name
