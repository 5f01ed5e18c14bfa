"""The word lists the demo seeder (``manage.py seed_demo``) draws from.

Plain data, no logic: names with their katakana readings and romaji (for email addresses), weighted
roughly by how common they are in Japan; prefectures with cities, postal-code prefixes and towns;
companies, tags and note bodies. Email addresses use the domains reserved for examples (RFC 2606 and
JPRS's ``example.jp`` family), so a demo database can never mail a real person.
"""

from __future__ import annotations

# (kanji, katakana, romaji, weight): weight is roughly the number of bearers in ten-thousands.
FAMILY_NAMES: list[tuple[str, str, str, int]] = [
    ("佐藤", "サトウ", "sato", 187),
    ("鈴木", "スズキ", "suzuki", 180),
    ("高橋", "タカハシ", "takahashi", 142),
    ("田中", "タナカ", "tanaka", 134),
    ("伊藤", "イトウ", "ito", 108),
    ("渡辺", "ワタナベ", "watanabe", 107),
    ("山本", "ヤマモト", "yamamoto", 107),
    ("中村", "ナカムラ", "nakamura", 105),
    ("小林", "コバヤシ", "kobayashi", 104),
    ("加藤", "カトウ", "kato", 89),
    ("吉田", "ヨシダ", "yoshida", 84),
    ("山田", "ヤマダ", "yamada", 82),
    ("佐々木", "ササキ", "sasaki", 68),
    ("山口", "ヤマグチ", "yamaguchi", 64),
    ("松本", "マツモト", "matsumoto", 63),
    ("井上", "イノウエ", "inoue", 61),
    ("木村", "キムラ", "kimura", 58),
    ("林", "ハヤシ", "hayashi", 54),
    ("斎藤", "サイトウ", "saito", 53),
    ("清水", "シミズ", "shimizu", 52),
    ("山崎", "ヤマザキ", "yamazaki", 48),
    ("森", "モリ", "mori", 46),
    ("池田", "イケダ", "ikeda", 44),
    ("橋本", "ハシモト", "hashimoto", 44),
    ("阿部", "アベ", "abe", 43),
    ("石川", "イシカワ", "ishikawa", 42),
    ("山下", "ヤマシタ", "yamashita", 41),
    ("中島", "ナカジマ", "nakajima", 40),
    ("石井", "イシイ", "ishii", 39),
    ("小川", "オガワ", "ogawa", 39),
    ("前田", "マエダ", "maeda", 38),
    ("岡田", "オカダ", "okada", 38),
    ("長谷川", "ハセガワ", "hasegawa", 37),
    ("藤田", "フジタ", "fujita", 37),
    ("後藤", "ゴトウ", "goto", 36),
    ("近藤", "コンドウ", "kondo", 35),
    ("村上", "ムラカミ", "murakami", 34),
    ("遠藤", "エンドウ", "endo", 33),
    ("青木", "アオキ", "aoki", 33),
    ("坂本", "サカモト", "sakamoto", 32),
    ("斉藤", "サイトウ", "saito", 31),
    ("福田", "フクダ", "fukuda", 31),
    ("太田", "オオタ", "ota", 30),
    ("西村", "ニシムラ", "nishimura", 30),
    ("藤井", "フジイ", "fujii", 30),
    ("金子", "カネコ", "kaneko", 29),
    ("岡本", "オカモト", "okamoto", 29),
    ("藤原", "フジワラ", "fujiwara", 29),
    ("中野", "ナカノ", "nakano", 28),
    ("三浦", "ミウラ", "miura", 28),
    ("原田", "ハラダ", "harada", 27),
    ("中川", "ナカガワ", "nakagawa", 27),
    ("松田", "マツダ", "matsuda", 27),
    ("竹内", "タケウチ", "takeuchi", 26),
    ("小野", "オノ", "ono", 26),
    ("田村", "タムラ", "tamura", 26),
    ("中山", "ナカヤマ", "nakayama", 25),
    ("和田", "ワダ", "wada", 25),
    ("石田", "イシダ", "ishida", 25),
    ("森田", "モリタ", "morita", 24),
    ("上田", "ウエダ", "ueda", 24),
    ("原", "ハラ", "hara", 24),
    ("柴田", "シバタ", "shibata", 23),
    ("酒井", "サカイ", "sakai", 23),
    ("工藤", "クドウ", "kudo", 23),
    ("横山", "ヨコヤマ", "yokoyama", 22),
    ("宮崎", "ミヤザキ", "miyazaki", 22),
    ("宮本", "ミヤモト", "miyamoto", 22),
    ("内田", "ウチダ", "uchida", 22),
    ("高木", "タカギ", "takagi", 21),
    ("安藤", "アンドウ", "ando", 21),
    ("谷口", "タニグチ", "taniguchi", 21),
    ("大野", "オオノ", "ono", 21),
    ("丸山", "マルヤマ", "maruyama", 21),
    ("今井", "イマイ", "imai", 20),
    ("河野", "コウノ", "kono", 20),
    ("藤本", "フジモト", "fujimoto", 20),
    ("村田", "ムラタ", "murata", 20),
    ("武田", "タケダ", "takeda", 20),
    ("上野", "ウエノ", "ueno", 19),
    ("杉山", "スギヤマ", "sugiyama", 19),
    ("増田", "マスダ", "masuda", 19),
    ("小山", "コヤマ", "koyama", 19),
    ("大塚", "オオツカ", "otsuka", 19),
    ("平野", "ヒラノ", "hirano", 18),
    ("菅原", "スガワラ", "sugawara", 18),
    ("久保", "クボ", "kubo", 18),
    ("松井", "マツイ", "matsui", 18),
    ("千葉", "チバ", "chiba", 18),
    ("岩崎", "イワサキ", "iwasaki", 17),
    ("桜井", "サクライ", "sakurai", 17),
    ("木下", "キノシタ", "kinoshita", 17),
    ("野口", "ノグチ", "noguchi", 17),
    ("松尾", "マツオ", "matsuo", 17),
    ("菊地", "キクチ", "kikuchi", 16),
    ("野村", "ノムラ", "nomura", 16),
    ("新井", "アライ", "arai", 16),
    ("渡部", "ワタナベ", "watanabe", 16),
]

# Given names by the generation that favoured them: "older" (born before 1970), "middle" (1970–1994),
# "younger" (1995 on). (kanji, katakana, romaji)
GIVEN_NAMES_MALE: dict[str, list[tuple[str, str, str]]] = {
    "older": [
        ("清", "キヨシ", "kiyoshi"),
        ("博", "ヒロシ", "hiroshi"),
        ("茂", "シゲル", "shigeru"),
        ("勇", "イサム", "isamu"),
        ("正", "タダシ", "tadashi"),
        ("実", "ミノル", "minoru"),
        ("一郎", "イチロウ", "ichiro"),
        ("修", "オサム", "osamu"),
        ("隆", "タカシ", "takashi"),
        ("誠", "マコト", "makoto"),
        ("和夫", "カズオ", "kazuo"),
        ("正男", "マサオ", "masao"),
        ("健一", "ケンイチ", "kenichi"),
        ("秀樹", "ヒデキ", "hideki"),
    ],
    "middle": [
        ("大輔", "ダイスケ", "daisuke"),
        ("拓也", "タクヤ", "takuya"),
        ("健太", "ケンタ", "kenta"),
        ("直樹", "ナオキ", "naoki"),
        ("和也", "カズヤ", "kazuya"),
        ("達也", "タツヤ", "tatsuya"),
        ("哲也", "テツヤ", "tetsuya"),
        ("剛", "ツヨシ", "tsuyoshi"),
        ("亮", "リョウ", "ryo"),
        ("雄一", "ユウイチ", "yuichi"),
        ("康介", "コウスケ", "kosuke"),
        ("慎也", "シンヤ", "shinya"),
        ("雅人", "マサト", "masato"),
        ("智也", "トモヤ", "tomoya"),
        ("俊介", "シュンスケ", "shunsuke"),
        ("学", "マナブ", "manabu"),
    ],
    "younger": [
        ("翔太", "ショウタ", "shota"),
        ("大樹", "ダイキ", "daiki"),
        ("翼", "ツバサ", "tsubasa"),
        ("拓海", "タクミ", "takumi"),
        ("蓮", "レン", "ren"),
        ("悠真", "ユウマ", "yuma"),
        ("陽翔", "ハルト", "haruto"),
        ("湊", "ミナト", "minato"),
        ("悠斗", "ユウト", "yuto"),
        ("颯太", "ソウタ", "sota"),
        ("大和", "ヤマト", "yamato"),
        ("陸", "リク", "riku"),
        ("樹", "イツキ", "itsuki"),
        ("光", "ヒカル", "hikaru"),
    ],
}

GIVEN_NAMES_FEMALE: dict[str, list[tuple[str, str, str]]] = {
    "older": [
        ("幸子", "サチコ", "sachiko"),
        ("恵子", "ケイコ", "keiko"),
        ("京子", "キョウコ", "kyoko"),
        ("和子", "カズコ", "kazuko"),
        ("洋子", "ヨウコ", "yoko"),
        ("節子", "セツコ", "setsuko"),
        ("久美子", "クミコ", "kumiko"),
        ("由美子", "ユミコ", "yumiko"),
        ("明美", "アケミ", "akemi"),
        ("直美", "ナオミ", "naomi"),
        ("智子", "トモコ", "tomoko"),
        ("花子", "ハナコ", "hanako"),
    ],
    "middle": [
        ("裕子", "ユウコ", "yuko"),
        ("美香", "ミカ", "mika"),
        ("由美", "ユミ", "yumi"),
        ("真由美", "マユミ", "mayumi"),
        ("恵", "メグミ", "megumi"),
        ("愛", "アイ", "ai"),
        ("香織", "カオリ", "kaori"),
        ("沙織", "サオリ", "saori"),
        ("麻衣", "マイ", "mai"),
        ("絵美", "エミ", "emi"),
        ("美穂", "ミホ", "miho"),
        ("瞳", "ヒトミ", "hitomi"),
        ("綾香", "アヤカ", "ayaka"),
        ("千尋", "チヒロ", "chihiro"),
    ],
    "younger": [
        ("さくら", "サクラ", "sakura"),
        ("美咲", "ミサキ", "misaki"),
        ("陽菜", "ヒナ", "hina"),
        ("結衣", "ユイ", "yui"),
        ("葵", "アオイ", "aoi"),
        ("凛", "リン", "rin"),
        ("芽依", "メイ", "mei"),
        ("結菜", "ユイナ", "yuina"),
        ("彩", "アヤ", "aya"),
        ("奈々", "ナナ", "nana"),
        ("真央", "マオ", "mao"),
        ("莉子", "リコ", "riko"),
        ("紬", "ツムギ", "tsumugi"),
        ("陽葵", "ヒマリ", "himari"),
    ],
}

WESTERN_FAMILY_NAMES: list[str] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Murphy",
    "Cook",
    "Morgan",
    "Bell",
    "Murray",
    "O'Brien",
    "MacDonald",
    "Fraser",
]

WESTERN_GIVEN_NAMES: list[str] = [
    "James",
    "John",
    "Robert",
    "Michael",
    "David",
    "William",
    "Richard",
    "Thomas",
    "Daniel",
    "Matthew",
    "Andrew",
    "Christopher",
    "Benjamin",
    "Samuel",
    "Oliver",
    "Jack",
    "Liam",
    "Noah",
    "Ethan",
    "Lucas",
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Sarah",
    "Jessica",
    "Emily",
    "Emma",
    "Olivia",
    "Sophie",
    "Charlotte",
    "Hannah",
    "Grace",
    "Chloe",
    "Amelia",
    "Laura",
    "Rachel",
    "Megan",
    "Claire",
]

# (prefecture, weight, [(city, postal-code prefix, [towns])]); weight is roughly the population in 100k.
PREFECTURES: list[tuple[str, int, list[tuple[str, str, list[str]]]]] = [
    (
        "東京都",
        140,
        [
            ("渋谷区", "150", ["神南", "道玄坂", "恵比寿", "代々木", "神宮前"]),
            ("新宿区", "160", ["西新宿", "歌舞伎町", "高田馬場", "新宿"]),
            ("世田谷区", "154", ["三軒茶屋", "太子堂", "下馬", "池尻"]),
            ("港区", "106", ["六本木", "麻布十番", "西麻布"]),
            ("練馬区", "176", ["練馬", "豊玉北", "桜台"]),
            ("八王子市", "192", ["旭町", "明神町", "東町"]),
        ],
    ),
    (
        "神奈川県",
        92,
        [
            ("横浜市中区", "231", ["山下町", "元町", "本町"]),
            ("横浜市港北区", "222", ["新横浜", "日吉", "大倉山"]),
            ("川崎市中原区", "211", ["小杉町", "新丸子町", "木月"]),
            ("藤沢市", "251", ["鵠沼海岸", "藤沢", "辻堂"]),
        ],
    ),
    (
        "大阪府",
        88,
        [
            ("大阪市北区", "530", ["梅田", "中之島", "天神橋"]),
            ("大阪市中央区", "542", ["心斎橋筋", "難波", "道頓堀"]),
            ("堺市堺区", "590", ["北瓦町", "中瓦町", "宿院町東"]),
            ("豊中市", "560", ["本町", "曽根東町", "岡町北"]),
        ],
    ),
    (
        "愛知県",
        75,
        [
            ("名古屋市中区", "460", ["栄", "錦", "大須"]),
            ("名古屋市千種区", "464", ["今池", "覚王山通", "春岡"]),
            ("豊田市", "471", ["西町", "喜多町", "若宮町"]),
        ],
    ),
    (
        "埼玉県",
        73,
        [
            ("さいたま市大宮区", "330", ["桜木町", "宮町", "大門町"]),
            ("川口市", "332", ["栄町", "本町", "幸町"]),
        ],
    ),
    (
        "千葉県",
        63,
        [
            ("千葉市中央区", "260", ["富士見", "中央", "新町"]),
            ("船橋市", "273", ["本町", "湊町", "宮本"]),
            ("浦安市", "279", ["舞浜", "北栄", "入船"]),
        ],
    ),
    (
        "兵庫県",
        54,
        [("神戸市中央区", "650", ["三宮町", "元町通", "北長狭通"]), ("西宮市", "662", ["甲子園町", "北口町"])],
    ),
    (
        "北海道",
        51,
        [("札幌市中央区", "060", ["大通西", "南一条西", "北三条西"]), ("函館市", "040", ["本町", "末広町", "若松町"])],
    ),
    (
        "福岡県",
        51,
        [
            ("福岡市博多区", "812", ["博多駅前", "中洲", "祇園町"]),
            ("福岡市中央区", "810", ["天神", "大名", "今泉"]),
            ("北九州市小倉北区", "802", ["魚町", "京町", "浅野"]),
        ],
    ),
    (
        "静岡県",
        36,
        [("静岡市葵区", "420", ["呉服町", "紺屋町", "七間町"]), ("浜松市中央区", "430", ["鍛冶町", "砂山町"])],
    ),
    ("広島県", 27, [("広島市中区", "730", ["紙屋町", "八丁堀", "本通"])]),
    (
        "京都府",
        25,
        [("京都市中京区", "604", ["河原町", "烏丸", "三条通"]), ("京都市左京区", "606", ["下鴨", "北白川"])],
    ),
    ("宮城県", 23, [("仙台市青葉区", "980", ["一番町", "中央", "国分町"])]),
    ("新潟県", 21, [("新潟市中央区", "951", ["古町通", "東堀通", "西堀通"])]),
    ("長野県", 20, [("長野市", "380", ["南長野", "鶴賀"]), ("松本市", "390", ["中央", "深志"])]),
    ("岡山県", 19, [("岡山市北区", "700", ["表町", "野田屋町", "本町"])]),
    ("熊本県", 17, [("熊本市中央区", "860", ["下通", "上通町", "安政町"])]),
    ("沖縄県", 15, [("那覇市", "900", ["久茂地", "牧志", "松山"])]),
    ("石川県", 11, [("金沢市", "920", ["香林坊", "片町", "広坂"])]),
]

BUILDINGS: list[str] = [
    "サンライズマンション",
    "メゾン・ド・ソレイユ",
    "パークハイツ",
    "グリーンコート",
    "ハイツ若葉",
    "レジデンス青山",
    "コーポさくら",
    "シティタワー",
    "ヴィラ緑ヶ丘",
    "ロイヤルパレス",
    "グランメゾン",
    "リバーサイド第二ビル",
]

# Customers abroad who speak English: (country, region, city, postal-code format) — postal codes are fictitious.
WESTERN_ADDRESSES: list[tuple[str, str, str, str]] = [
    ("US", "CA", "San Francisco", "941{:02d}"),
    ("US", "WA", "Seattle", "981{:02d}"),
    ("US", "NY", "New York", "100{:02d}"),
    ("US", "HI", "Honolulu", "968{:02d}"),
    ("GB", "Greater London", "London", "SW1A {}AA"),
    ("GB", "Greater Manchester", "Manchester", "M{} 4BT"),
    ("AU", "NSW", "Sydney", "20{:02d}"),
    ("AU", "VIC", "Melbourne", "30{:02d}"),
    ("CA", "BC", "Vancouver", "V6B {}A1"),
    ("NZ", "Auckland", "Auckland", "10{:02d}"),
]

WESTERN_STREETS: list[str] = [
    "Main Street",
    "Oak Avenue",
    "Maple Road",
    "High Street",
    "Park Lane",
    "Harbour View Drive",
    "Elm Street",
    "Station Road",
    "Queen Street",
    "Hillside Avenue",
]

# Area codes for the fictitious 555-01xx numbers, by country that uses them.
NANP_AREA_CODES: dict[str, list[str]] = {"US": ["415", "206", "212", "808"], "CA": ["604"]}

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

# --- Journeys (touchpoints) -----------------------------------------------------------------------
# The catalogue's slugs (touchpoints migration 0002), each with the channels it happens on (weights),
# the share of it that is outbound (from the shop to the customer), and what a staff member or an
# integration would write in its summary (Japanese, English).
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
