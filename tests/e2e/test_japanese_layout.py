"""The main pages in Japanese, at 1366 and 1024 pixels, in a real Chromium: no Japanese word broken across two
lines (「区/分」, 「キャン/セル」) and no English word left in the interface's own text.

Every visible text node holding Japanese is measured character by character (Range.getClientRects): where two
Japanese characters sit on different lines, the break must fall on a word boundary as Intl.Segmenter("ja")
finds them; and no page is wider than the window. English words are looked for in the same text nodes and in
placeholders; the data the test created is Japanese, so an English word there is an untranslated string (brand
names and abbreviations aside).

The 1366-pixel screenshots go to var/screenshots/ja/ on every run; with TSUNAGU_SCREENSHOTS=1 they are also
copied to docs/screenshots/ja/ (and the customer page to docs/screenshot-ja.png).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.e2e.helpers import grant, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "ja"
DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots" / "ja"
WIDTHS = (1366, 1024)

# Names and abbreviations Japanese staff read as they are.
ALLOWED_WORDS = {
    "Tsunagu", "CSAT", "NPS", "SLA", "API", "CSV", "LINE", "RFM", "ID", "URL", "JSON", "UTM", "Email", "HTML",
    "OK", "QR", "FAQ", "SMS", "Web", "PDF", "VIP", "FM",
}  # fmt: skip

CHECK_JS = """
(allowed) => {
  const jp = /[\\u3040-\\u30ff\\u3400-\\u9fff\\uf900-\\ufaff\\uff66-\\uff9f々〆ヶ]/;
  const segmenter = new Intl.Segmenter('ja', {granularity: 'word'});
  const skip = 'script,style,template,noscript,code,pre,textarea,#language-switch,.visually-hidden,' +
               '.visually-hidden-focusable,[aria-hidden="true"],svg,canvas';
  const breaks = [], english = [];
  const englishIn = (text, where) => {
    const cleaned = text.replace(/[\\w.+-]+@[\\w.-]+/g, ' ').replace(/https?:\\/\\/\\S+/g, ' ');
    for (const word of cleaned.match(/[A-Za-z]{2,}/g) || []) {
      if (!allowed.includes(word)) english.push(`${where}: «${word}» in «${text.trim().slice(0, 80)}»`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let node;
  while ((node = walker.nextNode())) {
    const text = node.data;
    if (!text.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest(skip) || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    englishIn(text, el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
    if (!jp.test(text)) continue;
    const bounds = new Set();
    for (const s of segmenter.segment(text)) bounds.add(s.index);
    let previous = null;
    for (let i = 0; i < text.length; i++) {
      if (/\\s/.test(text[i])) { previous = null; continue; }
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rects = range.getClientRects();
      if (!rects.length) continue;
      const top = rects[0].top;
      if (previous !== null && top - previous > rects[0].height / 2 && jp.test(text[i]) && jp.test(text[i - 1])
          && !bounds.has(i)) {
        breaks.push(`«${text.slice(Math.max(0, i - 6), i)}/${text.slice(i, i + 6)}» in <${el.tagName.toLowerCase()}` +
                    `${el.id ? ' id=' + el.id : ''} class="${el.className}">`);
      }
      previous = top;
    }
  }
  for (const input of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (input.getClientRects().length) englishIn(input.placeholder, 'placeholder');
  }
  return {breaks, english, overflow: document.documentElement.scrollWidth - window.innerWidth};
}
"""


@pytest.fixture
def japanese_shop(staff_roles, monkeypatch):
    """A shop whose data is all Japanese, seen by a manager named in kanji (a superuser: every page)."""
    from django.apps import apps as django_apps

    from feedback.models import SlaPolicy
    from feedback.roles import FEEDBACK_PERMISSIONS
    from loyalty.models import Tier
    from loyalty.roles import LOYALTY_PERMISSIONS
    from loyalty.services import points_adjust
    from tests.factories import ProgrammeFactory, member_join, purchase_record, ticket_create
    from touchpoints.outreach.rules import task_create
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(FEEDBACK_PERMISSIONS, LOYALTY_PERMISSIONS, JOURNEY_PERMISSIONS)
    touchpoint_catalogue()
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: len(ids))
    if not SlaPolicy.objects.exists():  # seeded by a migration, flushed by transactional tests
        import importlib

        importlib.import_module("feedback.migrations.0002_seed_sla_calendar").forwards(django_apps, None)
    manager = UserFactory(username="takahashi", first_name="美咲", last_name="高橋", is_superuser=True)
    names = [
        ("安藤", "裕子", "アンドウ", "ユウコ"),
        ("佐々木", "健太", "ササキ", "ケンタ"),
        ("山本", "花子", "ヤマモト", "ハナコ"),
    ]
    customers = [
        CustomerFactory(
            family_name=f, given_name=g, family_name_kana=fk, given_name_kana=gk, company="株式会社つばめ商店",
            preferred_language="ja", marketing_consent=True, owner=manager,
        )
        for f, g, fk, gk in names
    ]  # fmt: skip
    programme = ProgrammeFactory(name="つばめ会員", description="100円で1ポイント")
    Tier.objects.create(programme=programme, name="レギュラー", position=1, threshold=0, multiplier=Decimal("1"))
    membership = member_join(customers[0], programme)
    purchase_record(customers[0], 12800, "A-1001", summary="急須と湯のみのセット")
    points_adjust(membership=membership, points=300, reason="お詫びのポイント", key="ja-1", by=manager)
    ticket = ticket_create(customers[0], subject="急須の蓋が閉まりません", body="先週購入した急須の蓋が閉まりません。")
    task_create(
        customer=customers[1], title="折り返し電話", due_at=timezone.now() + dt.timedelta(hours=2), by=manager,
        assignee=manager,
    )  # fmt: skip
    return {"manager": manager, "customer": customers[0], "ticket": ticket, "membership": membership}


def _pages(shop) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "customers": reverse("customers:list"),
        "customer": reverse("customers:detail", args=[shop["customer"].pk]),
        "tickets": reverse("feedback:queue"),
        "ticket": reverse("feedback:ticket_detail", args=[shop["ticket"].pk]),
        "members": reverse("loyalty:members"),
        "member": reverse("loyalty:membership_detail", args=[shop["membership"].pk]),
        "tasks": reverse("outreach:tasks"),
        "outbox": reverse("outreach:outbox"),
        "touchpoints": reverse("touchpoints:list"),
        "funnel": reverse("touchpoints:funnel"),
        "segments": reverse("customers:segments"),
        "broadcasts": reverse("outreach:broadcasts"),
        "templates": reverse("outreach:templates"),
        "rules": reverse("outreach:rules"),
        "programmes": reverse("loyalty:programmes"),
        "feedback_figures": reverse("feedback:figures"),
        "surveys": reverse("feedback:surveys"),
        "contacts": reverse("insights_scoring:contact_list"),
    }


def test_main_pages_in_japanese_break_no_word_and_leave_no_english(japanese_shop, live_server, browser):
    client = Client()
    client.force_login(japanese_shop["manager"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    found: list[str] = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        context = browser.new_context(locale="ja-JP", viewport={"width": width, "height": 900})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        for name, path in _pages(japanese_shop).items():
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == "ja", name
            result = page.evaluate(CHECK_JS, sorted(ALLOWED_WORDS))
            found += [f"{width}px {name}: broken {b}" for b in result["breaks"]]
            if result["overflow"] > 0:  # the page is wider than the window: something does not fit
                found.append(f"{width}px {name}: {result['overflow']} px wider than the window")
            if width == WIDTHS[0]:
                found += [f"{name}: English {e}" for e in result["english"]]
                shot = SCREENSHOTS / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                if os.environ.get("TSUNAGU_SCREENSHOTS") == "1":
                    DOCS.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(shot, DOCS / f"{name}.png")
                    if name == "customer":
                        shutil.copyfile(shot, Path(settings.BASE_DIR) / "docs" / "screenshot-ja.png")
        context.close()
    assert not found, "\n".join(found)
