"""Bytes to text for the charsets Japanese mail really uses.

"ISO-2022-JP" from Outlook and many Japanese mailers is Microsoft's CP50220/CP50221: JIS X 0208 plus the NEC
special characters (①, ㈱, Ⅲ in row 13), the NEC-selected IBM extensions (rows 89-92) and half-width
katakana (``ESC ( I`` or SO/SI). Python has no such codec and its strict ``iso2022_jp`` fails on them, so an
ISO-2022-JP text is read segment by segment here: two-byte JIS segments are shifted to Shift_JIS bytes and
decoded as cp932 (which maps every Windows extension, and ～ to U+FF5E as Windows shows it), half-width katakana
become cp932's single bytes, JIS X 0213 segments go through ``iso2022_jp_2004``. Shift_JIS (the carriers) is
read as cp932 first; EUC-JP with its Windows variant falls back to ``euc_jis_2004``. Nothing raises: an
undecodable byte becomes U+FFFD and the raw message is kept anyway.
"""

from __future__ import annotations

import codecs
import re

ESC = 0x1B
SO, SI = 0x0E, 0x0F

_ALIASES = {
    "iso-2022-jp": "iso-2022-jp",
    "iso2022jp": "iso-2022-jp",
    "csiso2022jp": "iso-2022-jp",
    "iso-2022-jp-1": "iso-2022-jp",
    "iso-2022-jp-2": "iso-2022-jp",
    "iso-2022-jp-3": "iso-2022-jp",
    "iso-2022-jp-2004": "iso-2022-jp",
    "iso-2022-jp-ms": "iso-2022-jp",
    "cp50220": "iso-2022-jp",
    "cp50221": "iso-2022-jp",
    "cp50222": "iso-2022-jp",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "shift_jisx0213": "cp932",
    "shift_jis-2004": "cp932",
    "x-sjis-docomo": "cp932",
    "x-sjis-kddi": "cp932",
    "x-sjis-softbank": "cp932",
    "euc-jp": "euc-jp",
    "eucjp": "euc-jp",
    "x-euc-jp": "euc-jp",
    "eucjp-ms": "euc-jp",
    "cseucpkdfmtjapanese": "euc-jp",
}
# Second tries when the first codec fails on a byte (a different extension set), before replacing.
_FALLBACKS = {
    "cp932": ("shift_jis_2004",),
    "euc-jp": ("euc_jis_2004", "cp932"),
}


def _jis_pair_to_sjis(c1: int, c2: int) -> bytes:
    s1 = ((c1 + 1) >> 1) + (0x70 if c1 <= 0x5E else 0xB0)
    s2 = c2 + ((0x1F if c2 <= 0x5F else 0x20) if c1 % 2 else 0x7E)
    return bytes((s1, s2))


_ESCAPES = {
    b"\x1b(B": "ascii",
    b"\x1b(J": "ascii",  # JIS X 0201 Roman: ASCII but for ¥ and ‾, which mail means as \ and ~
    b"\x1b(I": "kana",
    b"\x1b$@": "jis",
    b"\x1b$B": "jis",
    b"\x1b&@\x1b$B": "jis",
    b"\x1b$(D": "jisx0212",
    b"\x1b$(O": "jisx0213",
    b"\x1b$(Q": "jisx0213",
    b"\x1b$(P": "jisx0213",
}
_ESCAPE = re.compile(rb"\x1b(?:&@\x1b\$B|\$\(?[@BDOPQ]|\([BJI])")


def decode_iso2022jp(data: bytes) -> str:
    """ISO-2022-JP as Windows writes it (CP50220/CP50221), tolerant of every variant seen in the wild."""
    out: list[str] = []
    mode = "ascii"
    pos = 0
    for match in [*_ESCAPE.finditer(data), None]:
        end = match.start() if match else len(data)
        out.append(_segment(data[pos:end], mode))
        if match is None:
            break
        mode = _ESCAPES.get(match.group(), "ascii")
        pos = match.end()
    return "".join(out)


def _segment(chunk: bytes, mode: str) -> str:
    if not chunk:
        return ""
    if mode == "ascii":
        # SO/SI shifts to half-width katakana inside an ASCII segment.
        if SO in chunk:
            parts, kana = [], False
            for byte in chunk:
                if byte == SO:
                    kana = True
                elif byte == SI:
                    kana = False
                elif kana and 0x21 <= byte <= 0x5F:
                    parts.append(bytes((byte + 0x80,)).decode("cp932"))
                else:
                    parts.append(chr(byte) if byte < 0x80 else "\ufffd")
            return "".join(parts)
        return chunk.decode("ascii", "replace")
    if mode == "kana":
        return bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk).decode("cp932", "replace")
    if mode == "jis":
        pieces, i = [], 0
        while i < len(chunk):
            c1 = chunk[i]
            c2 = chunk[i + 1] if i + 1 < len(chunk) else 0
            if c1 in (0x0A, 0x0D):  # a line break inside a segment (a mailer that forgot to shift back)
                pieces.append(chr(c1))
                i += 1
            elif 0x21 <= c1 <= 0x7E and 0x21 <= c2 <= 0x7E:
                pieces.append(_jis_pair_to_sjis(c1, c2).decode("cp932", "replace"))
                i += 2
            else:
                pieces.append("\ufffd" if c1 > 0x20 else chr(c1))
                i += 1
        return "".join(pieces)
    escape = b"\x1b$(D" if mode == "jisx0212" else b"\x1b$(Q"
    codec = "iso2022_jp_2" if mode == "jisx0212" else "iso2022_jp_2004"
    return (escape + chunk + b"\x1b(B").decode(codec, "replace")


def canonical(charset: str | None) -> str:
    name = (charset or "").strip().strip('"').lower()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return codecs.lookup(name).name if name else ""
    except LookupError:
        return ""


def decode(data: bytes, charset: str | None) -> str:
    """``data`` as text: the declared charset when it works, else a guess (ESC sequences → ISO-2022-JP, then
    UTF-8, cp932, EUC-JP). Never raises."""
    name = canonical(charset)
    if b"\x1b$" in data or b"\x1b(I" in data:
        name = "iso-2022-jp"  # declared us-ascii or nothing, but JIS escapes inside: it is ISO-2022-JP
    if name == "iso-2022-jp":
        return decode_iso2022jp(data)
    if name in ("", "ascii", "us-ascii") and not data.isascii():
        name = ""
    if name:
        for codec in (name, *_FALLBACKS.get(name, ())):
            try:
                return data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
    for codec in ("utf-8", "cp932", "euc_jp"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode(name or "utf-8", "replace") if name else data.decode("utf-8", "replace")
