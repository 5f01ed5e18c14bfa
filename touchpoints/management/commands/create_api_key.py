"""``manage.py create_api_key NAME --scope SCOPE …``: create an API key and print it, once (only its hash is kept)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from touchpoints.models import ApiScope
from touchpoints.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the ingest API and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Which system will use the key, e.g. 'Online shop'.")
        parser.add_argument("--user", help="Username recorded as the key's creator.")
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=[*ApiScope.values, "all"],
            help="What the key may do; repeat for several (read, ingest, customers:write, loyalty, "
            "tickets:verified, or all).",
        )

    def handle(self, *args, name: str, scopes: list[str], user: str | None = None, **options):
        if "all" in scopes:
            scopes = ApiScope.values
        by = None
        if user:
            by = get_user_model().objects.filter(username=user).first()
            if by is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            api_key, raw = api_key_create(name=name, scopes=scopes, by=by)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(raw)
        self.stderr.write(
            f"API key {api_key.prefix}… created for {api_key.name!r} with the scopes {', '.join(api_key.scopes)}.\n"
            "It is shown only now: store it safely.\n"
            "Send it as the header 'Authorization: Bearer <key>'."
        )
