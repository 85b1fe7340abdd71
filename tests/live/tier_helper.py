"""Change keys, members and organizations of the live servers' database from a
separate process, through the services (as the dashboard would).

``python -m tests.live.tier_helper COMMAND [ARGS]`` with the live (or fault)
environment; prints one JSON object. Raw keys travel only through this pipe.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any


def main(argv: list[str]) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from django_apikeys import services
    from django_apikeys.models import APIKey, Membership, Organization, Role

    parser = argparse.ArgumentParser(prog="tier_helper")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("make-user-key")
    for name in ("revoke", "change-role", "remove-member", "deactivate-organization"):
        sub.add_parser(name).add_argument("key_id")
    args = parser.parse_args(argv)

    if args.command == "make-user-key":
        suffix = uuid.uuid4().hex[:8]
        org = Organization.objects.create(slug=f"tier-{suffix}", name=f"Tier {suffix}")
        users = get_user_model().objects
        for name, role in (("owner", "Owner"), ("user", "Editor")):
            user = users.create(username=f"tier-{name}-{suffix}")
            Membership.objects.create(
                user=user, organization=org, role=Role.objects.get(name=role)
            )
        api_key, raw = services.create_key(
            organization=org, key_type="user", name="tier", user=user, scopes=["products:read"]
        )
        return {"id": str(api_key.pk), "org": str(org.pk), "raw": raw}

    api_key = APIKey.objects.select_related("organization", "user").get(pk=args.key_id)
    if args.command == "revoke":
        services.revoke_key(api_key)
    elif args.command == "change-role":
        membership = Membership.objects.get(user=api_key.user, organization=api_key.organization)
        services.change_role(membership, Role.objects.get(name="Billing"))
    elif args.command == "remove-member":
        membership = Membership.objects.get(user=api_key.user, organization=api_key.organization)
        services.remove_member(membership)
    elif args.command == "deactivate-organization":
        services.delete_organization(api_key.organization)
    return {"done": args.command}


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
