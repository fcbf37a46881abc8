"""One process for what `make run` does before it starts the servers: migrate, collect static files, seed the demo.

(Each `manage.py` start costs about two seconds here; one command instead of three keeps a second `make run` quick.)
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, collect static files and load the demo data (what `make run` needs before starting)."

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
