"""Real-world mail shapes read right: Japanese charsets (CP50221's Windows extensions, carrier Shift_JIS, EUC-JP),
base64/QP, RFC 2047 headers, HTML-only mail as text, quoted history found, automatic mail and bounces recognised."""

from __future__ import annotations

from touchpoints.outreach.channels.mailbox.charsets import decode, decode_iso2022jp
from touchpoints.outreach.channels.mailbox.parsing import header_text, parse
from touchpoints.outreach.channels.mailbox.quoting import split_quoted

from .fixtures import fixture


def test_outlook_iso2022jp_with_windows_extensions_decodes_without_mojibake():
    mail = parse(fixture("outlook_iso2022jp.eml"))
    assert mail.sender == "yamada@example.co.jp"  # compared ignoring case
    assert mail.sender_name == "山田 太郎"
    assert mail.subject == "Re: ①交換の件 ㈱つなぐ商事"
    assert "㈱つなぐ商事の山田です。" in mail.text
    assert "① 交換の件、承知しました。" in mail.text
    assert "12/10～12/12" in mail.text  # ～ as Windows shows it (U+FF5E)
    assert "ｶﾀｶﾅの品番はﾃｽﾄ-001です。" in mail.text  # half-width katakana (ESC ( I)
    assert "\ufffd" not in mail.text
    assert mail.message_id == "<000001d9outlook$a1b2c3$@example.co.jp>"
    assert not mail.automatic and mail.bounce is None


def test_python_strict_codec_fails_where_ours_reads_the_extensions():
    raw = fixture("outlook_iso2022jp.eml").split(b"\r\n\r\n", 1)[1]
    try:
        raw.decode("iso2022_jp")
        strict = True
    except UnicodeDecodeError:
        strict = False
    assert not strict  # the reason this module exists
    assert "㈱" in decode_iso2022jp(raw)


def test_iphone_utf8_base64_and_its_quote_is_folded():
    mail = parse(fixture("iphone_utf8.eml"))
    assert mail.subject == "Re: 発送のお知らせ"
    new, quoted = split_quoted(mail.text)
    assert new.startswith("了解です！明日受け取ります📦")
    assert "iPhoneから送信" in new and "発送いたしました" not in new
    assert quoted.startswith("2026/12/01 10:00、") and "> 追跡番号は 1234-5678 です。" in quoted


def test_carrier_shift_jis_and_euc_jp():
    carrier = parse(fixture("carrier_sjis.eml"))
    assert carrier.subject == "商品が届きません"
    assert carrier.text.startswith("注文した商品が届きません。㈱の請求書もお願いします。")
    euc = parse(fixture("euc_jp.eml"))
    assert (euc.subject, euc.text) == ("返品について", "返品の手続きを教えてください。")


def test_html_only_mail_becomes_text_with_no_markup_or_script():
    mail = parse(fixture("html_only.eml"))
    assert mail.html_only
    assert mail.subject == "Re: 今月のお知らせ"
    assert "メールマガジンの配信を停止したいです。" in mail.text
    assert "高橋" in mail.text
    for unsafe in ("<", "alert", "color:red", "onerror", "tracker"):
        assert unsafe not in mail.text
    new, quoted = split_quoted(mail.text)
    assert "今月のおすすめ商品" in quoted and "今月のおすすめ商品" not in new


def test_outlook_original_message_block_is_folded():
    new, quoted = split_quoted(parse(fixture("outlook_iso2022jp.eml")).text)
    assert new.endswith("ｶﾀｶﾅの品番はﾃｽﾄ-001です。")
    assert quoted.startswith("-----Original Message-----") and "交換を承ります。" in quoted


def test_attribution_lines_of_common_mailers():
    for line in (
        "On Tue, Dec 1, 2026 at 10:00 AM Tsunagu <support@tsunagu.example> wrote:",
        "2026年12月1日(火) 10:00 Tsunagu <support@tsunagu.example>:",
        "2026年12月1日 10:00 Tsunagu サポート wrote:",
        "サポートさんは書きました:",
        "-----元のメッセージ-----",
    ):
        text = f"ありがとうございます。\n\n{line}\n> 以前の本文"
        new, quoted = split_quoted(text)
        assert new == "ありがとうございます。", line
        assert quoted.startswith(line.strip()), line
    assert split_quoted("ただの本文です。\n二行目") == ("ただの本文です。\n二行目", "")


def test_out_of_office_is_automatic():
    mail = parse(fixture("out_of_office.eml"))
    assert mail.automatic.startswith("auto-submitted")
    assert mail.subject == "自動応答: 不在のお知らせ"
    assert mail.text == "12月10日まで不在にしております。"
    person = parse(fixture("iphone_utf8.eml"))
    assert person.automatic == ""


def test_delivery_reports_permanent_and_temporary():
    permanent = parse(fixture("bounce_permanent.eml")).bounce
    assert permanent is not None and permanent.original_message_id == "<ORIGINAL>"
    (recipient,) = permanent.recipients
    assert (recipient.address, recipient.status, recipient.permanent) == ("gone@example.jp", "5.1.1", True)
    (delayed,) = parse(fixture("bounce_temporary.eml")).bounce.recipients
    assert (delayed.status, delayed.permanent) == ("4.2.2", False)


def test_headers_in_raw_8bit_and_broken_input_never_raise():
    assert header_text("=?ISO-2022-JP?B?GyRCLSEbKEI=?=") == "①"
    assert decode("こんにちは".encode("cp932"), None) == "こんにちは"
    assert decode(b"\xff\xfe\x00garbage", "x-unknown") != ""
    mail = parse(b"\x00\xff not a mail at all")
    assert mail.message_id.startswith("<sha256.") and mail.sender == ""
    assert parse(b"\x00\xff not a mail at all").message_id == mail.message_id  # the same bytes, the same id
