"""Helpers of the API tests: clients signed in by API token or by session, for the two tenants' users."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import Tenant, make_api_token


def token_client(tenant: Tenant, role: str = "owner", *, ceiling: str | None = None) -> APIClient:
    """An API client using a fresh token of the tenant's `role` user (ceiling: the role itself unless given)."""
    _token, secret = make_api_token(tenant.user(role), tenant.organization, role=ceiling or role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def session_client(tenant: Tenant, role: str = "owner") -> APIClient:
    client = APIClient()
    client.force_login(tenant.user(role))
    return client


@pytest.fixture(params=["token", "session"])
def auth_kind(request: pytest.FixtureRequest) -> str:
    return request.param


def client_for(kind: str, tenant: Tenant, role: str = "owner") -> APIClient:
    return token_client(tenant, role) if kind == "token" else session_client(tenant, role)
