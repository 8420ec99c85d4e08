"""``manage.py create_api_token USERNAME [--name NAME] [--expires-days N] [--read-only]``"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.tokens import MAX_EXPIRES_DAYS, create_token


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it once (it is stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="API token", help="What the token is for.")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until it expires (default: never)."
        )
        parser.add_argument(
            "--read-only", action="store_true", help="May search and ask, but change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = str(options["username"])
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; their tokens would not work.")
        days = options["expires_days"]
        if days is not None and not 1 <= days <= MAX_EXPIRES_DAYS:
            raise CommandError(f"--expires-days must be between 1 and {MAX_EXPIRES_DAYS}.")
        token, raw = create_token(
            user, options["name"], expires_days=days, read_only=options["read_only"]
        )
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
            if token.expires_at
            else "never expires"
        )
        access = "read-only" if token.read_only else "read and write"
        self.stderr.write(
            f"Token “{token.name}” for {username} ({access}, {expiry}). "
            "It is shown once; store it now:"
        )
        self.stdout.write(raw)
