"""Server time and SQL queries of the server pages and API at 100,000 servers, in-process (Django's test client).

    .venv/bin/python bench/seed_servers.py        # once: 100,000 servers, 20,000 of them in bench-big/big
    .venv/bin/python bench/server_pages.py        # p50/p95 (ms) and SQL queries per case, 50 timed runs each
    .venv/bin/python bench/server_pages.py --runs 200 --only list

Each case is one GET through the whole stack (middleware, view, template or serializer) as a signed-in user, warm:
a few untimed requests first, then `--runs` timed ones (wall time of the request in this process: no network, no
browser). The SQL query count comes from one more request under `CaptureQueriesContext`. The cases:

- the project list of bench-big/big (20,000 servers) as one of its members: page 1, a status, status groups, sorted
  by name, searched by a partial IP, a full IP and an IP found nowhere, and the last page;
- the operators' list of every tenant's servers (as bench-operator): first page, last page, a search by IP;
- the API list of the same project: first page, a status, ordered by name, searched by IP, the last page (the
  cursor a client reaches by following `next` to the end, walked once before timing), oldest first;
- one server's pages: overview, network, activity, console log.

It reads the database the console uses (HANEUL_DATABASE_URL, as `make run`), with DEBUG off (as in production:
`--debug` keeps HANEUL_DEBUG's value instead), and VACUUM ANALYZEs the servers' table first (what autovacuum does
after a bulk load; `--no-vacuum` skips it). API throttling stays on; its counter is reset, untimed, between requests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIG_ORG, BIG_PROJECT = "bench-big", "big"
MEMBER = "bench-user-04@bench.localhost"  # a member of bench-big (English): sees checkboxes and row menus
OPERATOR = "bench-operator@bench.localhost"
WARMUP = 3


def configure(debug: bool) -> None:
    """The environment the console's settings read, before Django starts: production-like unless `debug`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    if not debug:
        os.environ["HANEUL_DEBUG"] = "0"
        os.environ.setdefault("HANEUL_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
        os.environ["HANEUL_HTTPS"] = "0"  # the test client speaks plain HTTP
        os.environ["HANEUL_STATIC_MANIFEST"] = "0"  # no collectstatic needed
    else:
        os.environ.setdefault("HANEUL_DEBUG", "1")
    hosts = [h for h in os.environ.get("HANEUL_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
    os.environ["HANEUL_ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "testserver"]))
    os.environ.setdefault("HANEUL_LOG_LEVEL", "WARNING")


@dataclass
class Case:
    group: str
    name: str
    url: str | Callable[[Any, Any], str]  # or how to find it with a signed-in client, once, before timing
    user: str
    check: Callable[[Any], str] | None = None  # says what the answer shows ("25 rows"), or raises
    times: list[float] = field(default_factory=list)
    queries: int = 0
    shown: str = ""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="timed requests per case (default 50)")
    parser.add_argument("--only", default="", help="only the cases whose printed name (`list: page 1`) has this text")
    parser.add_argument("--debug", action="store_true", help="keep HANEUL_DEBUG as set (default: DEBUG off)")
    parser.add_argument("--no-vacuum", action="store_true", help="do not VACUUM ANALYZE infra_server first")
    args = parser.parse_args()
    configure(args.debug)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.utils import OperationalError, ProgrammingError

    try:
        context = prepare(vacuum=not args.no_vacuum)
    except (OperationalError, ProgrammingError) as error:
        print(f"The database {settings.DATABASES['default']['NAME']} is not ready ({error}).", file=sys.stderr)
        print(
            "Set it up with `make run` (or `manage.py prepare`), then seed it: bench/seed_servers.py", file=sys.stderr
        )
        return 2
    if context is None:
        print(
            f"No seeded servers in the database {settings.DATABASES['default']['NAME']}: the project "
            f"{BIG_ORG}/{BIG_PROJECT} is missing.\nSeed it first (about 10 s):  .venv/bin/python bench/seed_servers.py",
            file=sys.stderr,
        )
        return 2

    cases = [c for c in build_cases(context) if args.only in f"{c.group}: {c.name}"]
    if not cases:
        print(f"No case matches --only {args.only!r}: give part of a name the table prints.", file=sys.stderr)
        return 2
    print(describe(context, settings, connection, args))
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients: dict[str, Client] = {}
    for case in cases:
        client = clients.get(case.user)
        if client is None:
            client = clients[case.user] = Client()
            client.force_login(context["users"][case.user])
        if callable(case.url):
            case.url = case.url(client, context["users"][case.user])
        for _ in range(WARMUP):
            answer(client, case, context)
        for _ in range(args.runs):
            reset_throttle(context["users"][case.user])
            started = time.perf_counter()
            response = client.get(case.url)
            case.times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{case.name}: {case.url} answered {response.status_code}")
        reset_throttle(context["users"][case.user])
        with CaptureQueriesContext(connection) as captured:
            response = client.get(case.url)
        case.queries = len(captured)
        case.shown = case.check(response) if case.check else ""
    print(table(cases))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    slow = [f"{c.group}: {c.name}" for c in cases if percentile(c.times, 95) >= 50]
    print(f"\ntarget: p95 < 50 ms in every case: {'met' if not slow else 'NOT met by ' + '; '.join(slow)}")
    return 0


def answer(client: Any, case: Case, context: dict[str, Any]) -> Any:
    reset_throttle(context["users"][case.user])
    response = client.get(case.url)
    if response.status_code != 200:
        raise SystemExit(f"{case.group} {case.name}: {case.url} answered {response.status_code}")
    return response


def reset_throttle(user: Any) -> None:
    from django.core.cache import cache

    cache.delete(f"api-throttle:user:{user.pk}")


def prepare(*, vacuum: bool) -> dict[str, Any] | None:
    """What the cases need from the seeded data (None when it is not there)."""
    from django.db import connection
    from django.db.models import Count

    from infra.models import Server
    from infra.providers.base import Status
    from tenants.models import Project, User

    project = (
        Project.objects.select_related("organization").filter(organization__slug=BIG_ORG, slug=BIG_PROJECT).first()
    )
    if project is None:
        return None
    if vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) infra_server")
    users = {user.email: user for user in User.objects.filter(email__in=[MEMBER, OPERATOR])}
    if len(users) != 2:
        return None
    mine = Server.objects.filter(project=project)
    with_addresses = mine.live().exclude(addresses=[]).order_by("name")
    sample = with_addresses[with_addresses.count() // 2]  # a server in the middle, for the detail pages and the IP
    by_status = dict(mine.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    tenant = Project.objects.filter(organization__slug__startswith="bench-org-").order_by("organization__slug").first()
    return {
        "tenant": tenant.organization.slug if tenant else "bench-org-001",
        "project": project,
        "users": users,
        "sample": sample,
        "sample_ip": sample.addresses[0]["ip"],
        "servers": Server.objects.count(),
        "live": Server.objects.live().count(),
        "big": sum(by_status.values()),
        "big_live": sum(n for status, n in by_status.items() if status != Status.DELETED),
        "big_by_status": by_status,
    }


def describe(context: dict[str, Any], settings: Any, connection: Any, args: argparse.Namespace) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    mix = ", ".join(f"{status} {n:,}" for status, n in sorted(context["big_by_status"].items(), key=lambda x: -x[1]))
    return "\n".join(
        [
            f"servers: {context['servers']:,} in all ({context['live']:,} not deleted); "
            f"{BIG_ORG}/{BIG_PROJECT}: {context['big']:,} ({context['big_live']:,} not deleted: {mix})",
            f"database {settings.DATABASES['default']['NAME']} (PostgreSQL {version}); DEBUG "
            f"{'on' if settings.DEBUG else 'off'}; {args.runs} timed runs per case after {WARMUP} warm-up; "
            f"{'VACUUM ANALYZE infra_server done' if not args.no_vacuum else 'no VACUUM'}",
            f"project pages and API as {MEMBER} (member); operators' list as {OPERATOR}",
            f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start "
            "(other work on the machine shows in p95)",
            f"CPU speed: a pure-Python loop of 10 million additions takes {python_loop_seconds():.2f} s "
            "(the pages are CPU-bound: compare runs on different machines by it)",
            "",
        ]
    )


def python_loop_seconds() -> float:
    """The best of three runs of a fixed pure-Python loop: how fast this machine runs the interpreter now."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def build_cases(context: dict[str, Any]) -> list[Case]:
    project = context["project"]
    org = project.organization.slug
    lst = f"/o/{org}/{project.slug}/servers/"
    api = f"/api/v1/projects/{project.pk}/servers/"
    ops = "/operators/servers/"
    sample = context["sample"]
    server = f"{lst}{sample.pk}/"
    ip = context["sample_ip"]
    partial = ip.rsplit(".", 1)[0] + "."  # "10.0.37."
    last_page = -(-context["big_live"] // 25)
    ops_last = -(-context["live"] // 25)
    tenant = context["tenant"]
    return [
        Case("list", "page 1", lst, MEMBER, html_rows),
        Case("list", "status=STOPPED", f"{lst}?status=STOPPED", MEMBER, html_rows),
        Case("list", "status=in_progress (group)", f"{lst}?status=in_progress", MEMBER, html_rows),
        Case("list", "status=error (group)", f"{lst}?status=error", MEMBER, html_rows),
        Case("list", "sort=name", f"{lst}?sort=name", MEMBER, html_rows),
        Case("list", "sort=-name", f"{lst}?sort=-name", MEMBER, html_rows),
        Case("list", "sort=created_at (oldest)", f"{lst}?sort=created_at", MEMBER, html_rows),
        Case("list", "sort=status", f"{lst}?sort=status", MEMBER, html_rows),
        Case("list", "sort=flavor", f"{lst}?sort=flavor", MEMBER, html_rows),
        Case("list", "sort=region", f"{lst}?sort=region", MEMBER, html_rows),
        Case("list", "flavor=<one of 3>", f"{lst}?flavor={sample.flavor_id}", MEMBER, html_rows),
        Case("list", "image=<one of 2>", f"{lst}?image={sample.image_id}", MEMBER, html_rows),
        Case("list", "region=<its only one>", f"{lst}?region={sample.region_id}", MEMBER, html_rows),
        Case("list", f"q={partial} (partial IP)", f"{lst}?q={partial}", MEMBER, html_rows),
        Case("list", f"q={ip} (full IP)", f"{lst}?q={ip}", MEMBER, html_rows),
        Case("list", "q=10.3. (no match here)", f"{lst}?q=10.3.", MEMBER, html_rows),
        Case("list", "q=203.0.113 (a third of rows)", f"{lst}?q=203.0.113", MEMBER, html_rows),
        Case("list", "q=lobby-01 (name)", f"{lst}?q=lobby-01", MEMBER, html_rows),
        Case("list", f"page {last_page // 2} (middle)", f"{lst}?page={last_page // 2}", MEMBER, html_rows),
        Case("list", f"last page ({last_page})", f"{lst}?page={last_page}", MEMBER, html_rows),
        Case("list", "page 1, 100 per page", f"{lst}?per_page=100", MEMBER, html_rows),
        Case("operators", "page 1", ops, OPERATOR, html_rows),
        Case("operators", "last page", last_link(ops, ops_last), OPERATOR, html_rows),
        Case("operators", "status=error", f"{ops}?status=error", OPERATOR, html_rows),
        Case("operators", f"tenant={tenant}", f"{ops}?tenant={tenant}", OPERATOR, html_rows),
        Case("operators", f"q={partial} (partial IP)", f"{ops}?q={partial}", OPERATOR, html_rows),
        Case("api", "page 1", api, MEMBER, api_rows),
        Case("api", "status=STOPPED", f"{api}?status=STOPPED", MEMBER, api_rows),
        Case("api", "status=ERROR,BUILDING", f"{api}?status=ERROR,BUILDING", MEMBER, api_rows),
        Case("api", "ordering=name", f"{api}?ordering=name", MEMBER, api_rows_in("name", "id")),
        Case("api", f"q={partial} (partial IP)", f"{api}?q={partial}", MEMBER, api_rows),
        Case("api", f"q={ip} (full IP)", f"{api}?q={ip}", MEMBER, api_rows),
        Case("api", "last page (cursor)", walk_to_last(api), MEMBER, api_rows),
        Case(
            "api",
            "ordering=created_at (oldest)",
            f"{api}?ordering=created_at",
            MEMBER,
            api_rows_in("created_at", "id"),
        ),
        Case("api", "page 1, 100 per page", f"{api}?per_page=100", MEMBER, api_rows),
        Case("detail", "overview", server, MEMBER),
        Case("detail", "network", f"{server}network/", MEMBER),
        Case("detail", "activity", f"{server}activity/", MEMBER),
        Case("detail", "console log", f"{server}console-log/", MEMBER),
        Case("detail", "header (live reload)", f"{server}header/", MEMBER),
    ]


def last_link(first: str, pages: int) -> Callable[[Any, Any], str]:
    """The operators' last page: the link its first page offers (keyset), else its number (an OFFSET)."""
    import re

    def find(client: Any, user: Any) -> str:
        html = client.get(first).content.decode()
        link = re.search(r'<a [^>]*href="([^"]+)"[^>]*rel="last"', html)
        return (
            first + link.group(1).replace("&amp;", "&")
            if link and link.group(1).startswith("?")
            else (f"{first}?page={pages}")
        )

    return find


def walk_to_last(first: str) -> Callable[[Any, Any], str]:
    """The API's last page: the `next` links followed from the first page to the end (what a client does)."""

    def find(client: Any, user: Any) -> str:
        url, steps, started = first, 0, time.perf_counter()
        while True:
            reset_throttle(user)
            body = client.get(url).json()
            if not body.get("next"):
                break
            url, steps = body["next"].replace("http://testserver", ""), steps + 1
        print(f"(the API's last page: {steps} `next` links followed in {time.perf_counter() - started:.1f} s)")
        return url

    return find


def html_rows(response: Any) -> str:
    import re

    html = response.content.decode()
    rows = len(re.findall(r"<tr[^>]*\bid=\"server-row-", html)) or len(re.findall(r"fw-medium console-name", html))
    return f"{rows} rows"


def api_rows(response: Any) -> str:
    return f"{len(response.json()['results'])} rows"


def api_rows_in(*keys: str) -> Callable[[Any], str]:
    """The rows, and whether they come in the order asked (`"-name"`…): an API that ignores `ordering` shows."""

    def check(response: Any) -> str:
        rows = response.json()["results"]
        ordered = rows
        for key in reversed(keys):  # stable sorts, the last key first
            ordered = sorted(ordered, key=itemgetter(key.lstrip("-")), reverse=key.startswith("-"))
        return f"{len(rows)} rows" + ("" if ordered == rows else " (NOT in the order asked)")

    return check


def table(cases: list[Case]) -> str:
    width = max(len(f"{c.group}: {c.name}") for c in cases)
    lines = [f"{'case':<{width}}  {'p50 ms':>7}  {'p95 ms':>7}  {'queries':>7}  answer", "-" * (width + 40)]
    for c in cases:
        lines.append(
            f"{c.group + ': ' + c.name:<{width}}  {statistics.median(c.times):7.1f}  {percentile(c.times, 95):7.1f}"
            f"  {c.queries:7d}  {c.shown}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
