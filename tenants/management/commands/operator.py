"""Make a user an operator (staff in the operators group), or take the role away.

manage.py operator add ops@example.com [--name "Ops"]   # creates the user if needed and asks for a password
manage.py operator remove ops@example.com
manage.py operator list
"""

from __future__ import annotations

import getpass
from argparse import ArgumentParser

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants.models import User


class Command(BaseCommand):
    help = "Add, remove or list operators (staff users in the operators group)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("verb", choices=["add", "remove", "list"])
        parser.add_argument("email", nargs="?")
        parser.add_argument("--name", default="")
        parser.add_argument("--password-from-env", metavar="VAR", help="read a new user's password from this variable")

    def handle(
        self, *args: object, verb: str, email: str | None, name: str, password_from_env: str | None, **options: object
    ) -> None:
        group, _ = Group.objects.get_or_create(name=settings.OPERATORS_GROUP)
        if verb == "list":
            for user in User.objects.filter(groups=group, is_staff=True).order_by("email"):
                self.stdout.write(f"{user.email}\t{'active' if user.is_active else 'inactive'}")
            return
        if not email:
            raise CommandError("Give the operator's e-mail address.")
        email = User.objects.normalize_email(email).lower()
        with transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if verb == "remove":
                if user is None:
                    raise CommandError(f"No user {email}.")
                user.groups.remove(group)
                user.is_staff = False
                user.save(update_fields=["is_staff"])
                self.stdout.write(f"{email} is no longer an operator.")
                return
            if user is None:
                password = self._new_password(password_from_env)
                user = User.objects.create_user(email=email, password=password, name=name)
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            user.is_staff = True
            user.save(update_fields=["is_staff"])
            user.groups.add(group)
        self.stdout.write(f"{email} is an operator.")

    def _new_password(self, variable: str | None) -> str:
        import os

        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(f"${variable} is empty.")
        else:
            password = getpass.getpass("Password for the new operator: ")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        return password
