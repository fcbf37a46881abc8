"""`manage.py add_openstack_region` against the local OpenStack (marker `openstack`) and with bad input (a clear
error, nothing saved); `seed_demo` adds the sandbox region, and the local OpenStack's when it answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from infra.models import Flavor, Image, Region
from infra.providers.base import Health
from tests.integration.openstack.cloud import CLOUD, CLOUDS_YAML
from tests.integration.openstack.cloud import MARKS as OPENSTACK_MARKS

ROOT = Path(__file__).resolve().parents[2]

# openstacksdk warns about its own internals when it reads a clouds.yaml (tests.integration.openstack.cloud.MARKS).
pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:Support for InfluxDB requires")]


def add_region(*args: str) -> str:
    out = StringIO()
    call_command("add_openstack_region", *args, stdout=out)
    return out.getvalue()


# Against the local OpenStack ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("_", [pytest.param(None, marks=OPENSTACK_MARKS)])
def test_add_openstack_region_creates_checks_and_mirrors_the_catalog_then_updates(_):
    output = add_region("seoul-1", "--name", "Seoul 1", "--cloud", CLOUD, "--clouds-file", str(CLOUDS_YAML))
    region = Region.objects.get(slug="seoul-1")
    assert (region.name, region.provider, region.enabled) == ("Seoul 1", "openstack", True)
    assert region.settings == {"cloud": CLOUD, "clouds_file": str(CLOUDS_YAML.resolve())}
    assert region.health in (Health.UP, Health.DEGRADED)
    assert region.health_checked_at is not None and region.health_latency_ms is not None
    assert "Created region seoul-1 (Seoul 1), OpenStack." in output
    assert f"clouds.yaml entry: {CLOUD} in {CLOUDS_YAML.resolve()}" in output
    assert {"m1.nano", "m1.micro"} <= set(Flavor.objects.filter(region=region).values_list("name", flat=True))
    assert Image.objects.filter(region=region, name="haneul-tiny").exists()
    assert re.search(r"catalog: \d+ flavors, \d+ images?\n", output)

    again = add_region("seoul-1", "--cloud", CLOUD, "--clouds-file", str(CLOUDS_YAML))
    assert "Unchanged: region seoul-1" in again
    assert Region.objects.count() == 1

    updated = add_region(
        *("seoul-1", "--name", "Seoul One", "--cloud", CLOUD),
        *("--public-network", "public", "--default-cidr", "10.9.0.0/24"),
    )
    region.refresh_from_db()
    assert "Updated region seoul-1 (Seoul One)" in updated
    assert "changed: name, default_cidr, public_network" in updated
    assert region.settings == {
        "cloud": CLOUD,
        "clouds_file": str(CLOUDS_YAML.resolve()),  # left out: kept
        "public_network": "public",
        "default_cidr": "10.9.0.0/24",
    }


# Bad input: a clear error and nothing saved ------------------------------------------------------------------------


def unreachable_clouds_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "clouds.yaml"
    path.write_text(
        "clouds:\n"
        "  nowhere:\n"
        "    auth:\n"
        "      auth_url: http://127.0.0.1:9/v3\n"  # the discard port: nothing listens
        "      username: console\n"
        "      password: not-a-real-one\n"
        "      project_name: admin\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        "    region_name: RegionOne\n"
        "    identity_api_version: 3\n"
    )
    return path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cloud", "no-such-entry", "--clouds-file", "{yaml}"], "has no entry 'no-such-entry' under 'clouds'"),
        (["--cloud", "nowhere", "--clouds-file", "{missing}"], "does not exist"),
        (["--cloud", "nowhere", "--clouds-file", "{yaml}"], "The cloud did not answer, so region 'seoul-1' was not"),
        (["--cloud", "nowhere", "--clouds-file", "{yaml}", "--default-cidr", "10.0.0.1/24"], "is not a network range"),
    ],
)
def test_bad_entry_is_a_clear_error_and_creates_nothing(tmp_path, arguments, message):
    values = {"yaml": str(unreachable_clouds_yaml(tmp_path)), "missing": str(tmp_path / "missing.yaml")}
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        add_region("seoul-1", *(argument.format(**values) for argument in arguments))
    assert not Region.objects.exists()


def test_the_entries_of_the_file_are_named_when_the_one_asked_for_is_missing(tmp_path):
    with pytest.raises(CommandError, match=r"entries there: nowhere\)"):
        add_region("seoul-1", "--cloud", "typo", "--clouds-file", str(unreachable_clouds_yaml(tmp_path)))


def test_an_invalid_code_or_a_code_of_another_provider_is_refused(tmp_path):
    yaml_path = str(unreachable_clouds_yaml(tmp_path))
    with pytest.raises(CommandError, match="not a valid region code"):
        add_region("Seoul 1", "--cloud", "nowhere", "--clouds-file", yaml_path)
    Region.objects.create(slug="sandbox", name="Sandbox", provider="sandbox")
    with pytest.raises(CommandError, match="is a Sandbox region, not OpenStack"):
        add_region("sandbox", "--cloud", "nowhere", "--clouds-file", yaml_path)
    assert Region.objects.get().provider == "sandbox"


def test_the_command_line_prints_the_error_without_a_traceback(tmp_path):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    missing = tmp_path / "missing.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "add_openstack_region", "seoul-1", "--cloud", "x", "--clouds-file", str(missing)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"CommandError: {missing} does not exist (or is not a file)." in result.stderr
    assert "Traceback" not in result.stderr
