"""What the demo tickets and surveys say (``manage.py seed_feedback``), and the shares that shape them.

Demo data only. Customers write in their own language: Japanese for the Japanese customers, English for the
others. Each entry is (subject, body) per language; replies are the staff's answers.
"""

from __future__ import annotations

# kind -> [(Japanese subject, Japanese body), …] and [(English subject, English body), …]
TICKETS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "complaint": {
        "ja": [
            ("商品が破損して届きました", "本日届いたマグカップの取っ手が割れていました。交換をお願いできますか。"),
            ("注文と違う色が届きました", "紺色を注文しましたが、黒が届きました。確認をお願いします。"),
            ("配送が予定より遅れています", "お届け予定日を三日過ぎていますが、まだ届いていません。"),
            ("店舗スタッフの対応について", "先日の来店時、レジで長くお待たせされ、説明もありませんでした。"),
            ("請求額が二重になっています", "クレジットカードの明細に同じ注文が二回計上されています。"),
        ],
        "en": [
            ("Parcel arrived damaged", "The teapot I ordered arrived with a cracked lid. Can you send a new one?"),
            ("Wrong size delivered", "I ordered a medium and received a small. How do I exchange it?"),
            ("Delivery is late", "My order was due last week and tracking has not moved since."),
            ("Charged twice", "My card statement shows the same order twice."),
        ],
    },
    "question": {
        "ja": [
            ("ポイントの有効期限について", "ポイントはいつまで使えますか。会員ページで確認できますか。"),
            ("ギフト包装はできますか", "贈り物にしたいのですが、のし紙と包装をお願いできますか。"),
            ("在庫の再入荷予定", "欠品中の抹茶セットはいつ頃入荷しますか。"),
            ("領収書の発行について", "会社名で領収書を発行していただけますか。"),
            ("返品の方法を教えてください", "サイズが合わなかったので返品したいです。手順を教えてください。"),
        ],
        "en": [
            ("Do you ship overseas?", "I live in Singapore. Can you ship there, and what does it cost?"),
            ("How do loyalty points work?", "How many points do I earn per purchase, and when do they expire?"),
            ("Gift wrapping", "Can you gift-wrap an order and add a message card?"),
            ("Invoice for my company", "Could I get an invoice with my company's name on it?"),
        ],
    },
    "request": {
        "ja": [
            ("配送先の変更をお願いします", "注文済みの商品の配送先を実家に変更したいです。"),
            ("会員情報の変更", "引っ越しをしたので住所を変更してください。"),
        ],
        "en": [
            ("Change my delivery address", "Please send my order to my office instead of my home."),
            ("Cancel my order", "I ordered the same item twice by mistake. Please cancel one."),
        ],
    },
    "suggestion": {
        "ja": [
            ("LINEでの注文に対応してほしい", "LINEから注文や問い合わせができると便利です。"),
            ("英語のカタログがあると嬉しい", "海外の友人に紹介したいので、英語版があると助かります。"),
            ("店舗の営業時間の延長", "平日は仕事帰りに寄るので、20時まで営業してもらえると嬉しいです。"),
        ],
        "en": [
            ("English product pages", "Some product pages are only in Japanese. English would help a lot."),
            ("Paper-free receipts", "Could receipts be emailed instead of printed?"),
        ],
    },
    "praise": {
        "ja": [("丁寧な対応ありがとうございました", "先日の交換対応がとても早く、助かりました。")],
        "en": [("Thank you!", "The staff at the Kyoto store were wonderful. Thank you.")],
    },
}
KINDS = [("complaint", 30), ("question", 40), ("request", 12), ("suggestion", 12), ("praise", 6)]
CHANNELS = [("email", 45), ("web_form", 20), ("phone", 15), ("line", 12), ("store", 8)]
PRIORITIES = [("normal", 70), ("high", 15), ("low", 12), ("urgent", 3)]
# Complaints are more often urgent or high.
COMPLAINT_PRIORITIES = [("normal", 50), ("high", 35), ("urgent", 10), ("low", 5)]

REPLIES = {
    "ja": [
        "お問い合わせありがとうございます。担当の者が確認いたしました。",
        "ご不便をおかけして申し訳ございません。代わりの商品を本日発送いたしました。",
        "ご質問ありがとうございます。詳細は会員ページの「ポイント履歴」でご確認いただけます。",
        "ご提案ありがとうございます。社内で検討させていただきます。",
    ],
    "en": [
        "Thank you for getting in touch. We have looked into it.",
        "We are sorry for the trouble. A replacement was sent today.",
        "Thanks for your question: you will find the details on your member page.",
        "Thank you for the suggestion. We will discuss it with the team.",
    ],
}
WAITING_REPLIES = {
    "ja": "恐れ入りますが、ご注文番号をお知らせいただけますか。",
    "en": "Could you send us your order number, please?",
}
LOOP_REPLIES = {
    "ja": "アンケートへのご回答ありがとうございました。ご不満の点について、詳しくお話を伺えますか。",
    "en": "Thank you for your answer to our survey. Could we hear more about what went wrong?",
}
CSAT_COMMENTS = {
    "low": {"ja": ["返事が遅かったです。", "解決していません。"], "en": ["Took too long.", "Still not solved."]},
    "high": {"ja": ["早い対応でした。", "", "ありがとうございました。"], "en": ["Quick and helpful.", "", "Thanks!"]},
}
NPS_COMMENTS = {
    "detractor": {"ja": ["配送が遅いです。", "値段が高いと思います。", ""], "en": ["Shipping is slow.", ""]},
    "passive": {"ja": ["", "品揃えは良いです。"], "en": ["", "Good, not great."]},
    "promoter": {"ja": ["いつも満足しています。", "", "友人にも勧めました。"], "en": ["Love the shop!", ""]},
}

TICKETS_PER_CUSTOMER = 0.2  # about one ticket per five customers, over the last year
HISTORY_DAYS = 365
OPEN_NOW = 7  # tickets still being worked on, opened in the last few days
BREACH_SHARE = 0.15  # of the resolved tickets, the share answered or resolved late
WAITING_SHARE = 0.15  # of the tickets, the share that waited on the customer for a while
CLOSED_AFTER_DAYS = 7  # resolved tickets older than this were closed
CSAT_ANSWER_SHARE = 0.55
CSAT_SCORES = [(5, 45), (4, 30), (3, 12), (2, 8), (1, 5)]
NPS_WAVES_DAYS_AGO = [330, 240, 150, 60]  # a quarterly NPS survey, each to a sample of the customers
NPS_SAMPLE_SHARE = 0.12
NPS_ANSWER_SHARE = 0.45
NPS_BANDS = [("promoter", 45), ("passive", 35), ("detractor", 20)]
LOOP_CLOSED_SHARE = 0.85  # of the recent unhappy answers, the share someone came back to already
LOOP_OPEN_DAYS = 21  # older unhappy answers all had their loop closed

# Canned responses staff start with: (title, Japanese text, English text). The picker inserts the text in the
# customer's language.
CANNED_RESPONSES: list[tuple[str, str, str]] = [
    (
        "お詫びと交換のご案内 / Apology and exchange",
        "{customer_name}様\n\nこのたびはご迷惑をおかけし、誠に申し訳ございません。"
        "交換品を本日発送いたします。お手元の商品は同封の返送用伝票でご返送ください。\n\n{shop_name} {agent_name}",
        "Dear {customer_name},\n\nWe are sorry for the trouble. We are sending a replacement today; please return the "
        "item you received with the prepaid label enclosed.\n\n{agent_name}, {shop_name}",
    ),
    (
        "配送状況のご連絡 / Delivery update",
        "{customer_name}様\n\nお問い合わせ（{ticket_reference}）ありがとうございます。"
        "配送状況を確認いたしましたので、ご報告いたします。\n\n{shop_name} {agent_name}",
        "Dear {customer_name},\n\nThank you for your message ({ticket_reference}). We have checked on your delivery "
        "and here is where it stands.\n\n{agent_name}, {shop_name}",
    ),
    (
        "ポイントについてのご案内 / About loyalty points",
        "{customer_name}様\n\nポイントはお買い上げ金額に応じて付与され、会員ページでいつでも残高と有効期限を"
        "ご確認いただけます。\n\n{shop_name} {agent_name}",
        "Dear {customer_name},\n\nYou earn points with every purchase; your member page shows your balance and when "
        "your points expire.\n\n{agent_name}, {shop_name}",
    ),
    (
        "解決のご確認 / Checking it is resolved",
        "{customer_name}様\n\n「{ticket_subject}」の件、その後問題なくご利用いただけておりますでしょうか。"
        "ご不明な点がございましたら、このメールにご返信ください。\n\n{shop_name} {agent_name}",
        "Dear {customer_name},\n\nIs everything all right now with “{ticket_subject}”? If anything is still unclear, "
        "just reply to this mail.\n\n{agent_name}, {shop_name}",
    ),
]
