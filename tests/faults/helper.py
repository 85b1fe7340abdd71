"""Act on the fault servers' database from a separate process.

``python -m tests.faults.helper COMMAND [ARGS]`` with the fault environment
(``DJANGO_SETTINGS_MODULE=tests.faults.settings_faults``, ``DATABASE_URL``,
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

    from django_apikeys import services
    from django_apikeys.models import APIKey, Membership, Organization, Plan, Role

    parser = argparse.ArgumentParser(prog="helper")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-key")
    make.add_argument("org")
    make.add_argument("--plan-per-minute", type=int, default=0)
    owner = sub.add_parser("owner")
    owner.add_argument("org")
    owner.add_argument("username")
    owner.add_argument("password")
    status = sub.add_parser("status")
    status.add_argument("key_id")
    args = parser.parse_args(argv)

    def organization(slug: str, per_minute: int = 0) -> Organization:
        plan, _ = Plan.objects.get_or_create(
            name=f"Faults {per_minute}", defaults={"rate_limit_per_minute": per_minute}
        )
        org, _ = Organization.objects.get_or_create(
            slug=slug, defaults={"name": slug.title(), "plan": plan}
        )
        return org

    if args.command == "make-key":
        org = organization(args.org, args.plan_per_minute)
        api_key, raw = services.create_key(
            organization=org, key_type="server", name="fault", scopes=["*"]
        )
        return {"id": str(api_key.pk), "org": str(org.pk), "raw": raw}
    if args.command == "owner":
        org = organization(args.org)
        user, _ = get_user_model().objects.get_or_create(username=args.username)
        user.set_password(args.password)
        user.save()
        Membership.objects.get_or_create(
            user=user, organization=org, defaults={"role": Role.objects.get(name="Owner")}
        )
        return {"org": str(org.pk)}
    if args.command == "status":
        return {"status": APIKey.objects.get(pk=args.key_id).status}
    raise AssertionError(args.command)  # pragma: no cover


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
