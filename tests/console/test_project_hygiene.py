"""Checks that keep the repository honest: migrations committed, Korean complete, icons present."""

import importlib.util
import re
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command

from tests.harness.processes import ROOT


@pytest.mark.django_db
def test_every_model_change_has_a_committed_migration():
    out = StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out)
    except SystemExit:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")


def test_korean_catalogue_has_no_untranslated_or_fuzzy_entries():
    po = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"
    untranslated = subprocess.run(
        ["msgattrib", "--untranslated", "--no-obsolete", str(po)], capture_output=True, text=True, check=True
    ).stdout
    fuzzy = subprocess.run(
        ["msgattrib", "--only-fuzzy", "--no-obsolete", str(po)], capture_output=True, text=True, check=True
    ).stdout
    assert re.findall(r'^msgid "(.+)"', untranslated, re.MULTILINE) == []
    assert re.findall(r'^msgid "(.+)"', fuzzy, re.MULTILINE) == []


def test_every_icon_used_is_in_the_sprite():
    spec = importlib.util.spec_from_file_location("build_icons", ROOT / "tools" / "build_icons.py")
    build_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_icons)
    sprite = (ROOT / "static" / "console" / "icons.svg").read_text()
    used = build_icons.used_icons()
    assert "folder-plus" in used  # handed to an include, not through {% icon %}
    missing = sorted(name for name in used if f'id="tabler-{name}"' not in sprite)
    assert missing == [], "run tools/build_icons.py to add them"
