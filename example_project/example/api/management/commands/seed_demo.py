"""Seed demo data: two organizations, a user per role, keys of every type."""

from __future__ import annotations

import datetime
import functools
import random
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from django_apikeys import services
from django_apikeys.conf import KeyType, apikeys_settings
from django_apikeys.metering import ADMITTED
from django_apikeys.models import (
    APIKey,
    Membership,
    Organization,
    Plan,
    Role,
    UsageOutcome,
    UsageRecord,
)
from example.api.models import Client, Product
from example.api.views import example_setting

PASSWORD = "demo-password"
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"
ROLES = ["Owner", "Manager", "Billing", "Editor"]
#: The name of the key printed in the curl line.
QUICK_START = "Quick start"
#: Days of made-up usage history the usage page starts with.
HISTORY_DAYS = 30  # the usage page's default period
#: Refusals in the made-up history: (code, chance per key and hour).
DEMO_REFUSALS = [
    ("rate_limited", 0.05),
    ("insufficient_scope", 0.03),
    ("invalid_key", 0.04),
    ("key_expired", 0.01),
]


@functools.cache
def _demo_password_hash() -> str:
    """The demo password, hashed once: every demo user shares it, and each hash
    costs the hasher's full work factor (most of this command's time)."""
    return make_password(PASSWORD)


def _demo_user(username: str, email: str, **flags: bool) -> Any:
    user = get_user_model()(username=username, email=email, **flags)
    user.password = _demo_password_hash()
    user.save()
    return user


def _demo_scopes(kt: KeyType) -> list[str]:
    """Demo keys may do everything their type allows (a type's own defaults first)."""
    return list(kt.default_scopes) if kt.default_scopes is not None else ["*"]


class Command(BaseCommand):
    help = (
        "Create demo organizations, users (one per role), keys, data and a month of usage. "
        "Idempotent: a "
        "second run adds nothing, except that it rolls the quick-start key to print it again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="http://127.0.0.1:8000")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        pro, _ = Plan.objects.get_or_create(
            name="Pro",
            defaults={"entitlements": ["reports"], "rate_limit_per_minute": 6000},
        )
        starter, _ = Plan.objects.get_or_create(name="Starter", defaults={"entitlements": []})
        acme, _ = Organization.objects.get_or_create(
            slug="acme", defaults={"name": "Acme Corp", "plan": pro}
        )
        globex, _ = Organization.objects.get_or_create(
            slug="globex", defaults={"name": "Globex", "plan": starter}
        )
        if not User.objects.filter(username="admin").exists():
            _demo_user("admin", "admin@example.com", is_staff=True, is_superuser=True)
        logins = [
            (
                "admin",
                "superuser for the Django admin; in no organization (the dashboard offers "
                "to create one)",
            )
        ]
        for role_name in ROLES:
            username = role_name.lower()
            user = User.objects.filter(username=username).first()
            if user is None:
                user = _demo_user(username, f"{username}@example.com")
            Membership.objects.get_or_create(
                user=user, organization=acme, defaults={"role": Role.objects.get(name=role_name)}
            )
            logins.append((username, f"{role_name} of {acme.name}"))
        other = User.objects.filter(username="globex-owner").first()
        if other is None:
            other = _demo_user("globex-owner", "go@example.com")
        Membership.objects.get_or_create(
            user=other, organization=globex, defaults={"role": Role.objects.get(name="Owner")}
        )
        logins.append(("globex-owner", f"Owner of {globex.name}"))
        if not Client.objects.filter(organization=acme).exists():
            for name in ("Initech", "Umbrella", "Hooli"):
                Client.objects.create(organization=acme, name=name)
            Product.objects.create(organization=acme, name="Anvil", price_cents=4999)
            Client.objects.create(organization=globex, name="Globex's secret client")

        owner = User.objects.get(username="owner")
        for kt in apikeys_settings.key_types.values():
            if not APIKey.objects.filter(organization=acme, key_type=kt.name).exists():
                services.create_key(
                    organization=acme,
                    key_type=kt.name,
                    name=f"Demo {kt.label}",
                    user=owner if kt.user_owned else None,
                    created_by=owner,
                    scopes=_demo_scopes(kt),
                )
        self._usage_history(acme)
        api_key, raw_key, intro = self._quick_start_key(acme, owner)
        host = options["host"]
        header = f"Authorization: Bearer {raw_key}"
        extra = ""
        if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
            extra = f' -H "{apikeys_settings.ORGANIZATION_HEADER}: {acme.pk}"'
        self.stdout.write("\nDemo data ready. Log in at " + f"{host}/accounts/login/ with:")
        for username, what in logins:
            self.stdout.write(f"  {username:<14} / {PASSWORD}   {what}")
        self.stdout.write(f"\nOrganizations: {acme.name} ({acme.pk}), {globex.name} ({globex.pk})")
        self.stdout.write("\n" + intro)
        self.stdout.write(f'  curl -H "{header}"{extra} {host}/api/v1/clients\n')
        if apps.is_installed("django_apikeys.oauth"):
            self._oauth_walkthrough(acme, owner, host)

    def _usage_history(self, acme: Organization) -> None:
        """A month of made-up traffic for Acme's demo keys, so the usage page
        has something to show: busier on weekdays and in working hours, with a
        few refusals (rate limits, a missing scope, bad and expired keys).
        Written once (a run that finds usage for Acme adds none); the numbers
        come from a fixed seed, so every demo looks the same."""
        if UsageOutcome.objects.filter(organization=acme).exists():
            return
        demo_keys = list(APIKey.objects.filter(organization=acme).active().order_by("created_at"))
        if not demo_keys:
            return
        rng = random.Random(2024)
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        outcomes: list[UsageOutcome] = []
        daily: dict[tuple[Any, datetime.date], int] = {}
        for hours_ago in range(HISTORY_DAYS * 24, 0, -1):
            hour = now - datetime.timedelta(hours=hours_ago)
            weekday = hour.weekday() < 5
            busy = 9 <= hour.hour < 18
            for index, api_key in enumerate(demo_keys):
                base = (40 if busy else 6) * (1 if weekday else 0.3) / (index + 1)
                admitted = max(0, int(rng.gauss(base, base / 4)))
                if admitted:
                    outcomes.append(
                        UsageOutcome(
                            organization=acme,
                            api_key=api_key,
                            hour=hour,
                            outcome=ADMITTED,
                            count=admitted,
                        )
                    )
                    key_day = (api_key.pk, hour.date())
                    daily[key_day] = daily.get(key_day, 0) + admitted
                for code, chance in DEMO_REFUSALS:
                    if rng.random() < chance * (2 if busy else 0.5):
                        outcomes.append(
                            UsageOutcome(
                                organization=acme,
                                api_key=None if code == "invalid_key" else api_key,
                                hour=hour,
                                outcome=code,
                                count=rng.randint(1, 12),
                            )
                        )
        UsageOutcome.objects.bulk_create(outcomes, batch_size=500)
        for api_key in demo_keys:  # the key list's "Last used" agrees with the history
            last = max((o.hour for o in outcomes if o.api_key_id == api_key.pk), default=None)
            APIKey.objects.filter(pk=api_key.pk).update(last_used=last)
        UsageRecord.objects.bulk_create(
            [
                UsageRecord(organization=acme, api_key_id=key_id, date=day, count=count)
                for (key_id, day), count in daily.items()
            ],
            batch_size=500,
        )

    def _quick_start_key(self, acme: Organization, owner: Any) -> tuple[APIKey, str, str]:
        """The key of the curl line: one at a time, whatever the number of runs.

        Its raw key cannot be shown again, so a run that finds the quick-start
        key of an earlier run rolls it with no grace period (the old one stops
        working at once, the audit log says ``key.rolled``) and says so; the
        first run creates it. Extra active quick-start keys left by older
        versions of this command are revoked.
        """
        server_types = [t for t in example_setting("server_types") if t != "session"]
        kt = apikeys_settings.key_types[server_types[0]]
        earlier = list(
            APIKey.objects.filter(organization=acme, name=QUICK_START, key_type=kt.name)
            .active()
            .order_by("-created_at")
        )
        for stale in earlier[1:]:
            services.revoke_key(stale, actor=owner)
        if not earlier:
            api_key, raw_key = services.create_key(
                organization=acme,
                key_type=kt.name,
                name=QUICK_START,
                user=owner if kt.user_owned else None,
                created_by=owner,
                scopes=_demo_scopes(kt),
            )
            return api_key, raw_key, "Try the API with a fresh key (shown once):"
        api_key, raw_key = services.roll_key(
            earlier[0], actor=owner, grace_period=datetime.timedelta(0)
        )
        revoked = ", ".join(key.hint for key in earlier)
        return (
            api_key,
            raw_key,
            f"The quick-start key of an earlier run ({revoked}) cannot be shown again: it was "
            "rolled and no longer works. Try the API with its replacement (shown once):",
        )

    def _oauth_walkthrough(self, acme: Organization, owner: Any, host: str) -> None:
        """A public demo app and a copy-paste PKCE walkthrough (the ``scoped_user_keys`` flow)."""
        from django_apikeys.oauth import services as oauth_services
        from django_apikeys.oauth.models import OAuthApp

        redirect_uri = DEMO_REDIRECT_URI
        app = OAuthApp.objects.filter(
            organization=acme, application__name="Demo integration"
        ).first()
        if app is None:
            app, _ = oauth_services.register_app(
                organization=acme,
                name="Demo integration",
                redirect_uris=[redirect_uri],
                scopes=["clients:read", "clients:write", "invoices:read"],
                confidential=False,  # PKCE only: nothing secret in this walkthrough
                actor=owner,
            )
        client_id = app.application.client_id
        authorize = (
            f"{host}/api/auth/oauth2/authorize?client_id={client_id}&response_type=code"
            f"&redirect_uri={redirect_uri}&scope=clients:read"
            "&code_challenge=$CHALLENGE&code_challenge_method=S256&state=demo"
        )
        lines = [
            "",
            "OAuth 2.0 (a third-party app acting for a user), authorization code + PKCE:",
            "  VERIFIER=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')",
            "  CHALLENGE=$(python3 -c 'import base64, hashlib, sys; "
            "print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest())"
            '.rstrip(b"=").decode())\' "$VERIFIER")',
            f'  echo "{authorize}"',
            "  # Open that URL, log in as owner, pick Acme Corp, Authorize. The browser lands on",
            f"  # {redirect_uri}?code=...&state=demo (nothing listens there): copy the code.",
            "  CODE=<the code>",
            f"  curl -s {host}/api/auth/oauth2/token -d grant_type=authorization_code"
            f' -d code="$CODE" -d redirect_uri={redirect_uri} -d client_id={client_id}'
            ' -d code_verifier="$VERIFIER"',
            "  ACCESS_TOKEN=<access_token from that JSON>  # a JWT, 1 hour; refresh: 30 days",
            f'  curl -H "Authorization: Bearer $ACCESS_TOKEN" {host}/api/v1/clients',
            f"  # Verify it yourself: {host}/.well-known/jwks.json,"
            f" {host}/.well-known/oauth-authorization-server",
            "",
        ]
        self.stdout.write("\n".join(lines))
