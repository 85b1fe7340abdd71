"""Seed demo data: two organizations, a user per role, keys of every type."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from django_apikeys import services
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import APIKey, Membership, Organization, Plan, Role
from example.api.models import Client, Product
from example.api.views import example_setting

PASSWORD = "demo-password"
ROLES = ["Owner", "Manager", "Billing", "Editor"]


class Command(BaseCommand):
    help = "Create demo organizations, users (one per role), keys and data. Idempotent."

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
            User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
        logins = [("admin", "superuser (Django admin)")]
        for role_name in ROLES:
            username = role_name.lower()
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
            Membership.objects.get_or_create(
                user=user, organization=acme, defaults={"role": Role.objects.get(name=role_name)}
            )
            logins.append((username, f"{role_name} of {acme.name}"))
        other = User.objects.filter(username="globex-owner").first()
        if other is None:
            other = User.objects.create_user("globex-owner", "go@example.com", PASSWORD)
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
                )
        # A fresh key for the curl line (the raw key is printed here, once).
        server_types = [t for t in example_setting("server_types") if t != "session"]
        kt = apikeys_settings.key_types[server_types[0]]
        api_key, raw_key = services.create_key(
            organization=acme,
            key_type=kt.name,
            name="Quick start",
            user=owner if kt.user_owned else None,
            created_by=owner,
        )
        host = options["host"]
        header = f"Authorization: Bearer {raw_key}"
        extra = ""
        if apikeys_settings.REQUIRE_ORGANIZATION_HEADER:
            extra = f' -H "{apikeys_settings.ORGANIZATION_HEADER}: {acme.pk}"'
        self.stdout.write("\nDemo data ready. Log in at " + f"{host}/accounts/login/ with:")
        for username, what in logins:
            self.stdout.write(f"  {username:<14} / {PASSWORD}   {what}")
        self.stdout.write(f"\nOrganizations: {acme.name} ({acme.pk}), {globex.name} ({globex.pk})")
        self.stdout.write("\nTry the API with a fresh key (shown once):")
        self.stdout.write(f'  curl -H "{header}"{extra} {host}/api/v1/clients\n')
