"""Organization fixtures for the live tests, from a separate process.

``python -m tests.live.org_helper COMMAND [ARGS]`` in the live environment
(see ``tests.live.helper``); prints one JSON object. Raw keys travel only
through this pipe to the test process, which sends them in request headers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import uuid
from typing import Any


def main(argv: list[str]) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from django_apikeys import services
    from django_apikeys.models import Organization

    parser = argparse.ArgumentParser(prog="org_helper")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("owner-with-keys").add_argument("password")
    sub.add_parser("state").add_argument("org_id")
    sub.add_parser("backdate-deletion").add_argument("org_id")
    args = parser.parse_args(argv)

    if args.command == "owner-with-keys":
        name = f"live-{uuid.uuid4().hex[:8]}"
        user = get_user_model().objects.create_user(name, f"{name}@example.com", args.password)
        org = services.create_organization(name=name, slug=name, owner=user)
        server, server_raw = services.create_key(
            organization=org, key_type="server", name="server", created_by=user, scopes=["*"]
        )
        _user_key, user_raw = services.create_key(
            organization=org,
            key_type="user",
            name="user",
            user=user,
            created_by=user,
            scopes=["*"],
        )
        return {
            "username": name,
            "org": str(org.pk),
            "slug": org.slug,
            "keys": [server_raw, user_raw],
            "server_key": str(server.pk),
        }
    if args.command == "state":
        org = Organization.objects.filter(pk=args.org_id).first()
        if org is None:
            return {"exists": False}
        return {"exists": True, "active": org.is_active, "keys": org.api_keys.count()}
    if args.command == "backdate-deletion":
        Organization.objects.filter(pk=args.org_id).update(
            deactivated_at=timezone.now() - datetime.timedelta(days=3650)
        )
        return {"ok": True}
    raise AssertionError(args.command)  # pragma: no cover


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
