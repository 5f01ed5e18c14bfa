"""One form for text typed in several: the keys that search and sort customers.

Japanese staff type the same name in hiragana or katakana, in half-width katakana from an old till, and digits and
letters full width (０９０, ＹＡＭＡＤＡ). ``fold`` makes them one: NFKC (widths), hiragana as katakana, lower case.
The stored keys (``Customer.search_text``, ``name_sort``) and the typed query are folded alike, so やまもと finds
ヤマモト and ０９０ finds 090.
"""

from __future__ import annotations

import unicodedata

# ぁ (U+3041) … ゖ (U+3096) and ゝゞ are their katakana 0x60 further on.
_HIRAGANA = {code: code + 0x60 for code in [*range(0x3041, 0x3097), 0x309D, 0x309E]}


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_HIRAGANA).lower()
