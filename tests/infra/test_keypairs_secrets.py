"""A generated private key is never stored: after generating key pairs in the console and through the API, the
private key's body is in no table of the database (a pg_dump of every row), no Redis key of the test databases
(cache, broker, results, channel layer), no cookie, and no log record."""

from __future__ import annotations

import logging
import re
import subprocess

import pytest
import redis
from django.conf import settings
from django.db import connection

from infra import keys
from infra.models import Keypair
from tests.conftest import make_api_token


def every_row_of_the_database() -> str:
    params = connection.settings_dict
    command = ["pg_dump", "--data-only", "--no-owner", "-d", params["NAME"], "-h", params["HOST"] or "127.0.0.1"]
    if params.get("PORT"):
        command += ["-p", str(params["PORT"])]
    if params.get("USER"):
        command += ["-U", params["USER"]]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def every_redis_value() -> str:
    seen = []
    for offset in range(4):
        client = redis.Redis.from_url(f"{settings.REDIS_URL}/{settings.REDIS_DB_BASE + offset}")
        for key in client.scan_iter():
            seen.append(repr(key))
            kind = client.type(key)
            if kind == b"string":
                seen.append(repr(client.get(key)))
            elif kind == b"list":
                seen.append(repr(client.lrange(key, 0, -1)))
            elif kind == b"hash":
                seen.append(repr(client.hgetall(key)))
            elif kind == b"set":
                seen.append(repr(client.smembers(key)))
            elif kind == b"zset":
                seen.append(repr(client.zrange(key, 0, -1)))
    return "\n".join(seen)


def pieces(private_key: str) -> list[str]:
    """The private key's base64 body, whole and as each of its 70-character lines (as PEM stores it)."""
    lines = [line for line in private_key.strip().splitlines() if not line.startswith("-----")]
    return [keys.private_key_body(private_key), *(line for line in lines if len(line) > 20)]


@pytest.mark.django_db(transaction=True)
def test_a_generated_private_key_is_stored_nowhere(tenant_a, api_client, caplog):
    caplog.set_level(logging.DEBUG)
    private_keys = []

    # The console: the generate page offers it once.
    client = tenant_a.client("member")
    page = client.get(f"/o/{tenant_a.slug}/main/keypairs/generate/")
    form_id = re.search(r'name="form_id" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(
        f"/o/{tenant_a.slug}/main/keypairs/generate/",
        {"name": "console", "key_type": "ssh-ed25519", "form_id": form_id},
    )
    assert response.status_code == 201
    html = response.content.decode()
    private_keys.append(
        re.search(r"(-----BEGIN OPENSSH PRIVATE KEY-----.*?-----END OPENSSH PRIVATE KEY-----)", html, re.S).group(1)
    )
    cookies = "".join(f"{c.key}={c.value}" for c in client.cookies.values())

    # The API: in the 201 answer only.
    _token, secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for key_type in (keys.ED25519, keys.RSA):
        answer = api_client.post(
            f"/api/v1/projects/{tenant_a.project.pk}/keypairs/",
            {"name": f"api {key_type}", "generate": True, "key_type": key_type},
            format="json",
        )
        assert answer.status_code == 201
        private_keys.append(answer.json()["private_key"])

    assert Keypair.objects.filter(generated=True).count() == 3
    dump, stored_in_redis = every_row_of_the_database(), every_redis_value()
    assert "console" in dump and Keypair.objects.get(name="console").fingerprint in dump  # the dump has the rows
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for private_key in private_keys:
        for piece in pieces(private_key):
            assert piece not in dump
            assert piece not in stored_in_redis
            assert piece not in logged
            assert piece not in cookies
