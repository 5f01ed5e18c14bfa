"""The Japanese catalogue translates every message the code holds: no untranslated and no fuzzy entry, and the
compiled catalogue (.mo) is the .po's.

makemessages runs on a copy of the sources (it writes the catalogue of the tree it scans), exactly as
``make messages`` would, so a new ``_()`` without its Japanese fails here rather than showing English to a
Japanese shop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext (msgfmt)")


def _tool(name: str) -> str:
    return shutil.which(name) or name


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """A gettext tool (or the copy's manage.py) on paths this test made: nothing from outside."""
    return subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: S603


PO = Path(settings.BASE_DIR) / "locale" / "ja" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SKIP = shutil.ignore_patterns(".venv", ".git", "var", "vendor", "node_modules", "__pycache__", "*.mo", "*.png")


def _statistics(po: Path) -> str:
    result = _run(_tool("msgfmt"), "--statistics", "-o", os.devnull, str(po))
    assert result.returncode == 0, result.stderr
    return result.stderr.strip()


def _entries(po: Path, *flags: str) -> str:
    result = _run(_tool("msgattrib"), *flags, str(po))
    return result.stdout


def test_the_japanese_catalogue_has_no_untranslated_or_fuzzy_entry():
    stats = _statistics(PO)
    assert "untranslated" not in stats and "fuzzy" not in stats, stats


def test_every_message_in_the_code_has_its_japanese(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(settings.BASE_DIR, copy, ignore=SKIP)
    env = {**os.environ, "DJANGO_DEBUG": "true"}
    _run(
        sys.executable, "manage.py", "makemessages", "-l", "ja", "--ignore=.venv", "--ignore=static/vendor",
        "--ignore=var", "--verbosity=0", cwd=copy, env=env, check=True,
    )  # fmt: skip
    po = copy / "locale" / "ja" / "LC_MESSAGES" / "django.po"
    stats = _statistics(po)
    missing = _entries(po, "--untranslated", "--no-obsolete") + _entries(po, "--only-fuzzy", "--no-obsolete")
    assert "untranslated" not in stats and "fuzzy" not in stats, f"{stats}\n{missing[:4000]}"


def test_the_compiled_catalogue_is_the_current_one(tmp_path):
    compiled = tmp_path / "django.mo"
    _run(_tool("msgfmt"), "--check-format", "-o", str(compiled), str(PO), check=True)
    ours = _run(_tool("msgunfmt"), str(MO), check=True).stdout
    fresh = _run(_tool("msgunfmt"), str(compiled), check=True).stdout
    assert ours == fresh, "locale/ja/LC_MESSAGES/django.mo is stale: run manage.py compilemessages -l ja"
