"""Act on the live servers' database from a separate process.

``python -m tests.live.helper COMMAND [ARGS]`` with the live environment
(``DJANGO_SETTINGS_MODULE=tests.live.settings_live``, ``DATABASE_URL``,
``REDIS_URL``); prints one JSON object. Raw keys travel only through this
pipe to the test process, which sends them in request headers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def main(argv: list[str]) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from django_apikeys import metering, services
    from django_apikeys.models import APIKey, Organization, Plan, UsageRecord

    parser = argparse.ArgumentParser(prog="helper")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-key")
    make.add_argument("--per-minute", type=int, default=0)
    sub.add_parser("superuser").add_argument("password")
    usage = sub.add_parser("usage")
    usage.add_argument("key_id")
    status = sub.add_parser("status")
    status.add_argument("key_id")
    sub.add_parser("member-key")
    sub.add_parser("remove-member").add_argument("membership_id")
    oauth_app = sub.add_parser("oauth-app")
    oauth_app.add_argument("redirect_uri")
    oauth_app.add_argument("password")
    args = parser.parse_args(argv)

    if args.command == "make-key":
        plan, _ = Plan.objects.get_or_create(name="Live", defaults={"entitlements": ["reports"]})
        org, _ = Organization.objects.get_or_create(
            slug="live", defaults={"name": "Live", "plan": plan}
        )
        api_key, raw = services.create_key(
            organization=org,
            key_type="server",
            name="live test",
            scopes=["*"],
            rate_limit_per_minute=args.per_minute,
        )
        return {"id": str(api_key.pk), "org": str(org.pk), "raw": raw}
    if args.command == "member-key":
        from django_apikeys.models import Membership, Role

        plan, _ = Plan.objects.get_or_create(name="Live", defaults={"entitlements": ["reports"]})
        home, _ = Organization.objects.get_or_create(
            slug="live-home", defaults={"name": "Live home", "plan": plan}
        )
        other, _ = Organization.objects.get_or_create(
            slug="live-other", defaults={"name": "Live other", "plan": plan}
        )
        member, _ = get_user_model().objects.get_or_create(username="live-member")
        Membership.objects.get_or_create(
            user=member, organization=home, defaults={"role": Role.objects.get(name="Owner")}
        )
        there, _ = Membership.objects.get_or_create(
            user=member, organization=other, defaults={"role": Role.objects.get(name="Editor")}
        )
        api_key, raw = services.create_key(
            organization=home, key_type="member", name="live member", user=member, scopes=["*"]
        )
        return {"raw": raw, "home": str(home.pk), "other": str(other.pk), "there": there.pk}
    if args.command == "remove-member":
        from django_apikeys.models import Membership

        services.remove_member(Membership.objects.get(pk=args.membership_id))
        return {"removed": args.membership_id}
    if args.command == "superuser":
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username="live-admin", defaults={"is_staff": True, "is_superuser": True}
        )
        user.set_password(args.password)
        user.save()
        return {"username": user.username}
    if args.command == "usage":
        api_key = APIKey.objects.get(pk=args.key_id)
        records = UsageRecord.objects.filter(api_key=api_key)
        from django_apikeys import analytics
        from django_apikeys.models import UsageOutcome

        outcomes: dict[str, int] = {}
        for bucket in analytics.outcome_series(api_key.organization, "24h", api_key):
            for code, n in {"admitted": bucket.admitted, **bucket.refusals}.items():
                outcomes[code] = outcomes.get(code, 0) + n
        flushed_outcomes: dict[str, int] = {}
        for row in UsageOutcome.objects.filter(api_key=api_key):
            flushed_outcomes[row.outcome] = flushed_outcomes.get(row.outcome, 0) + row.count
        return {
            "flushed": sum(records.values_list("count", flat=True)),
            "daily_usage": sum(n for _, n in metering.daily_usage(api_key.organization, api_key)),
            "outcomes": {code: n for code, n in outcomes.items() if n},
            "flushed_outcomes": flushed_outcomes,
        }
    if args.command == "oauth-app":
        from django_apikeys.models import Membership, Role
        from django_apikeys.oauth import services as oauth_services

        plan, _ = Plan.objects.get_or_create(name="Live", defaults={"entitlements": ["reports"]})
        org, _ = Organization.objects.get_or_create(
            slug="live-oauth", defaults={"name": "Live OAuth", "plan": plan}
        )
        User = get_user_model()
        user, _ = User.objects.get_or_create(username="live-oauth-user")
        user.set_password(args.password)
        user.save()
        Membership.objects.get_or_create(
            user=user, organization=org, defaults={"role": Role.objects.get(name="Owner")}
        )
        app, secret = oauth_services.register_app(
            organization=org,
            name="Live integration",
            redirect_uris=[args.redirect_uri],
            scopes=["clients:read", "clients:write"],
            confidential=True,
            actor=user,
        )
        return {
            "client_id": app.application.client_id,
            "client_secret": secret,
            "username": user.username,
            "org": str(org.pk),
        }
    if args.command == "status":
        return {"status": APIKey.objects.get(pk=args.key_id).status}
    raise AssertionError(args.command)  # pragma: no cover


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
