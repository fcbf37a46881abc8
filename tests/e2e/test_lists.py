"""Lists sort, filter and page in place: htmx swaps the table card and pushes the URL; Back goes back."""

import re

from playwright.sync_api import Page, expect

from tenants.models import Organization


def test_sorting_and_filtering_swap_the_table_without_reloading_the_page(
    page: Page, transactional_db, login, operator, tenant_a, tenant_b
):
    Organization.objects.create(name="Zeta Works", slug="zeta-works")
    login(operator)
    page.goto("/operators/")
    page.evaluate("window.__sameDocument = true")
    table = page.locator("#table")
    first_row = table.locator("tbody tr").first
    expect(first_row).to_contain_text("Studio A")  # by name, A to Z

    table.get_by_role("link", name="Organization").click()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(first_row).to_contain_text("Zeta Works")
    table.get_by_role("link", name="Organization").click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(first_row).to_contain_text("Studio A")
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no reload

    table.get_by_label("Search").fill("studio-b")
    table.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"q=studio-b"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(first_row).to_contain_text("Studio B")
    assert "sort=name" in page.url  # the filter form keeps the sort
    assert page.evaluate("window.__sameDocument") is True

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"q=studio-b"))
    expect(table.locator("tbody tr")).to_have_count(3)
