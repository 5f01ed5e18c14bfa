"""The word lists the demo journey seeder (``touchpoints.seeding``) draws from.

Plain data, no logic. The catalogue's slugs (touchpoints migration 0002), each with the channels it happens
on (weights), the share of it that is outbound (from the shop to the customer), and what a staff member or
an integration would write in its summary (Japanese, English).
"""

from __future__ import annotations

TOUCHPOINT_CHANNELS: dict[str, tuple[list[tuple[str, int]], float]] = {
    "brand-exposure": ([("advertising", 45), ("social", 25), ("web", 20), ("event", 5), ("post", 5)], 0.9),
    "reputation": ([("social", 50), ("web", 40), ("other", 10)], 0.0),
    "pr": ([("web", 50), ("advertising", 20), ("post", 15), ("event", 15)], 1.0),
    "research": ([("web", 85), ("store", 10), ("phone", 5)], 0.0),
    "product-selection": ([("web", 55), ("store", 35), ("event", 5), ("post", 5)], 0.1),
    "social-proof": ([("web", 60), ("social", 30), ("email", 10)], 0.5),
    "price-value": ([("web", 40), ("store", 25), ("email", 20), ("phone", 15)], 0.3),
    "transaction": ([("web", 50), ("store", 50)], 0.0),  # the split follows the customer's source
    "support": ([("phone", 35), ("email", 30), ("line", 20), ("web", 10), ("store", 5)], 0.1),
    "return": ([("store", 50), ("web", 30), ("post", 20)], 0.0),
    "feedback-request": ([("email", 70), ("line", 20), ("sms", 10)], 1.0),
    "cross-sell": ([("email", 60), ("line", 25), ("store", 15)], 1.0),
    "social-engagement": ([("social", 100)], 0.2),
    "loyalty-activity": ([("store", 50), ("web", 40), ("line", 10)], 0.0),
    "survey": ([("email", 70), ("web", 20), ("line", 10)], 0.0),
    "follow-up-email": ([("email", 100)], 1.0),
}

# What each stage's touchpoints are, by weight, when a customer is in that stage.
TOUCHPOINT_TYPES_BY_STAGE: dict[str, list[tuple[str, int]]] = {
    "awareness": [("brand-exposure", 60), ("reputation", 30), ("pr", 10)],
    "consideration": [("research", 45), ("product-selection", 40), ("social-proof", 15)],
    "decision": [("price-value", 55), ("support", 45)],  # purchases and returns are placed separately
    "retention": [
        ("follow-up-email", 25),
        ("loyalty-activity", 20),
        ("cross-sell", 15),
        ("social-engagement", 12),
        ("feedback-request", 10),
        ("survey", 8),
    ],
}

TOUCHPOINT_SUMMARIES: dict[str, tuple[list[str], list[str]]] = {
    "brand-exposure": (
        ["Instagram広告を閲覧", "検索広告からサイトへ", "インフルエンサーの投稿で認知", "駅の看板広告を見た"],
        ["Saw an Instagram ad", "Clicked a search ad", "Saw an influencer's post", "Saw a station poster"],
    ),
    "reputation": (
        ["口コミサイトのレビューを閲覧", "友人からの紹介", "Googleマップのレビューを閲覧"],
        ["Read reviews online", "Recommended by a friend", "Read map reviews"],
    ),
    "pr": (
        ["雑誌の特集記事で紹介", "地域ニュースで紹介", "プレスリリース掲載"],
        ["Featured in a magazine", "Mentioned in local news", "Press release picked up"],
    ),
    "research": (
        ["商品ページを閲覧", "ブログ記事を閲覧", "よくある質問ページを閲覧", "店舗の場所を検索"],
        ["Viewed product pages", "Read a blog post", "Read the FAQ", "Looked up the store"],
    ),
    "product-selection": (
        ["カタログを請求", "店頭で試着", "商品を比較", "デモを体験"],
        ["Requested the catalogue", "Tried on in store", "Compared products", "Tried a demo"],
    ),
    "social-proof": (
        ["お客様の声を閲覧", "導入事例を閲覧", "レビュー動画を視聴"],
        ["Read testimonials", "Read a case study", "Watched a review video"],
    ),
    "price-value": (
        ["見積もりを依頼", "料金プランを比較", "セール価格を確認"],
        ["Asked for a quote", "Compared plans", "Checked the sale price"],
    ),
    "transaction": (["ご購入 {items}点", "オンラインショップでご購入 {items}点"], ["Purchase, {items} item(s)"]),
    "support": (
        ["サイズについて問い合わせ", "在庫の問い合わせ", "配送日の問い合わせ", "支払い方法の質問"],
        ["Asked about sizes", "Asked about stock", "Asked about delivery", "Asked about payment"],
    ),
    "return": (
        ["返品・返金（サイズ違い）", "返品・返金（不良品）"],
        ["Return and refund (wrong size)", "Return (faulty)"],
    ),
    "feedback-request": (["レビュー投稿のお願いを送信"], ["Asked for a review"]),
    "cross-sell": (["関連商品のご案内を送信", "上位モデルのご提案"], ["Sent related products", "Offered an upgrade"]),
    "social-engagement": (
        ["Instagramでコメント", "投稿をシェア", "LINE公式アカウントで反応"],
        ["Commented on Instagram", "Shared a post", "Reacted on LINE"],
    ),
    "loyalty-activity": (["ポイントを利用", "会員ランクを確認", "ポイント交換"], ["Redeemed points", "Checked tier"]),
    "survey": (["満足度アンケートに回答", "NPSアンケートに回答"], ["Answered a satisfaction survey", "Answered NPS"]),
    "follow-up-email": (
        ["購入後のフォローメール", "使い方ガイドを送信"],
        ["Post-purchase follow-up", "Sent a how-to guide"],
    ),
}

# Where ad and social traffic came from, and the campaigns it was tagged with ({year}-{season}-{name}).
UTM_SOURCES: list[tuple[str, int]] = [
    ("google", 35),
    ("yahoo", 15),
    ("instagram", 20),
    ("line", 15),
    ("x", 8),
    ("facebook", 7),
]
CAMPAIGNS: list[str] = ["sale", "new-arrivals", "newsletter", "members-day", "gift"]
SEASONS: list[str] = ["winter", "winter", "spring", "spring", "spring", "summer", "summer", "summer", "autumn"]
SEASONS += ["autumn", "autumn", "winter"]  # by month, January first
