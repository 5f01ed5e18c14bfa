"""The word lists the demo customers seeder (``customers.seeding``) draws from.

Plain data, no logic: names (``names``) and addresses (``places``) in their own modules; here companies,
tags, sources, note bodies and the demo staff. Email addresses use the domains reserved for examples
(RFC 2606 and JPRS's ``example.jp`` family), so a demo database can never mail a real person.
"""

from __future__ import annotations

COMPANIES_JA: list[str] = [
    "株式会社つなぐ商事",
    "山田工務店",
    "株式会社サクラ食品",
    "合同会社ミライデザイン",
    "有限会社田中精機",
    "株式会社青空トラベル",
    "株式会社みどり農園",
    "北斗システム株式会社",
    "株式会社はなまる書店",
    "株式会社東雲ホールディングス",
    "株式会社ひかり印刷",
    "株式会社富士山ベーカリー",
    "株式会社こもれび",
    "やまびこ物流株式会社",
    "株式会社浪速テキスタイル",
    "株式会社ことのは出版",
    "医療法人社団 すずらん会",
    "株式会社北国水産",
    "株式会社オレンジ不動産",
    "株式会社かがやき建設",
]

COMPANIES_EN: list[str] = [
    "Acme Trading K.K.",
    "Blue Harbor Consulting",
    "Northwind Japan G.K.",
    "Pacific Rim Imports Ltd.",
    "Maple Leaf Education",
    "Kestrel Software Inc.",
    "Silver Birch Design",
    "Lighthouse Media Group",
]

# Reserved example domains only (RFC 2606 and JPRS's reserved example.*.jp names).
EMAIL_DOMAINS_JA: list[tuple[str, int]] = [
    ("example.jp", 40),
    ("example.ne.jp", 30),
    ("example.com", 20),
    ("example.or.jp", 5),
    ("example.net", 5),
]
EMAIL_DOMAIN_COMPANY = "example.co.jp"
EMAIL_DOMAINS_EN: list[tuple[str, int]] = [("example.com", 60), ("example.org", 20), ("example.net", 20)]

# (name, colour, description, weight): how likely a customer is to carry the tag.
TAGS: list[tuple[str, str, str, int]] = [
    ("VIP", "danger", "Top customers by spend", 4),
    ("リピーター", "success", "Bought three times or more", 18),
    ("Newsletter", "primary", "Reads the monthly newsletter", 20),
    ("Wholesale", "warning", "Buys for a business at trade prices", 3),
    ("新規", "info", "First purchase in the last 90 days", 10),
    ("休眠", "secondary", "No purchase for a year", 8),
    ("法人", "secondary", "Corporate account", 4),
    ("イベント参加", "info", "Came to an in-store event", 7),
    ("Instagram", "primary", "Found us on Instagram", 6),
    ("要フォロー", "warning", "Staff should get back to them", 5),
]

# (value, weight) for Customer.source.
SOURCES: list[tuple[str, int]] = [
    ("store", 30),
    ("web", 25),
    ("search", 10),
    ("social", 10),
    ("referral", 8),
    ("advertising", 6),
    ("event", 5),
    ("phone", 3),
    ("other", 3),
]

CONSENT_EVIDENCE: dict[str, list[str]] = {
    "web_form": ["Newsletter checkbox on the web sign-up form v2", "Checkout opt-in box (online shop)"],
    "in_store": ["Signed store membership form (paper, v3)", "Tablet sign-up at the store counter"],
    "verbal": ["Agreed on the phone; recorded by staff", "Agreed at the counter; recorded by staff"],
    "email": ["Replied YES to the confirmation email"],
}

NOTES_JA: list[str] = [
    "電話で問い合わせあり。新商品のカタログを送付予定。",
    "店頭で試着。サイズ違いの入荷連絡を希望。",
    "誕生日月のクーポンについて質問あり。説明済み。",
    "配送先の住所変更を依頼された。対応済み。",
    "法人向けの見積もりを希望。来週フォローする。",
    "商品の不具合について連絡あり。交換で対応。",
    "イベントの案内を喜んでいた。次回も招待する。",
    "ご家族の分もまとめて購入。ギフト包装希望。",
]

NOTES_EN: list[str] = [
    "Asked about international shipping; sent the rates.",
    "Prefers email over phone. Follow up after the sale starts.",
    "Interested in wholesale pricing for a café; quote sent.",
    "Returned an item (wrong size); exchange arranged.",
    "Met at the spring event. Wants the English catalogue.",
]

# The demo staff: (username, first name, last name, role group, superuser).
DEMO_STAFF: list[tuple[str, str, str, str, bool]] = [
    ("manager", "美咲", "高橋", "Manager", False),
    ("support", "健太", "佐々木", "Support", False),
    ("marketing", "Emily", "Carter", "Marketing", False),
    ("yamada", "花子", "山田", "Support", False),
    ("suzuki", "大輔", "鈴木", "Support", False),
    ("admin", "", "", "", True),
]
# Who may own customers (the superuser owns none); weights are each one's share of the book.
DEMO_OWNERS: list[tuple[str, int]] = [
    ("manager", 10),
    ("support", 25),
    ("marketing", 10),
    ("yamada", 25),
    ("suzuki", 20),
]
DEMO_PASSWORD = "tsunagu-demo"  # noqa: S105 (a documented demo password, printed at the end of seeding)
