"""Lifecycle scenes and events for the live tests, from a separate process.

``python -m tests.live.lifecycle_helper COMMAND [ARGS]`` in the live
environment (see ``tests.live.helper``); prints one JSON object.

* ``scene``: an organization on a plan with the ``reports`` module, its Owner,
  a Manager, an organization key the Manager created and the Manager's user
  key (both with ``reports:read`` and ``members:read``);
* ``oauth-scene REDIRECT_URI PASSWORD``: an OAuth app registered by one
  organization, and a member of another organization who may authorize it;
* ``delete-organization ORG_ID``: the deletion service;
* ``event NAME SCENE_JSON``: one lifecycle event on that scene, through the
  services (or a saved field, the admin's way), as a cron job or another
  server would make it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import uuid
from typing import Any

SCOPES = ["clients:read", "reports:read", "members:read"]
#: The lifecycle events, as ``event NAME`` takes them (and the in-process
#: matrix, ``tests/oauth/test_lifecycle_matrix.py``, walks them).
EVENTS = [
    "revoke",
    "roll",
    "expire",
    "delete_organization",
    "deactivate_organization",
    "deactivate_user",
    "remove_member",
    "demote",
    "plan_change",
]


def main(argv: list[str]) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from django_apikeys import services
    from django_apikeys.models import APIKey, Membership, Organization, Plan, Role

    parser = argparse.ArgumentParser(prog="lifecycle_helper")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("scene")
    oauth = sub.add_parser("oauth-scene")
    oauth.add_argument("redirect_uri")
    oauth.add_argument("password")
    sub.add_parser("delete-organization").add_argument("org_id")
    event = sub.add_parser("event")
    event.add_argument("name", choices=EVENTS)
    event.add_argument("scene")
    args = parser.parse_args(argv)

    if args.command == "scene":
        name = f"life-{uuid.uuid4().hex[:8]}"
        users = get_user_model().objects
        owner = users.create_user(f"{name}-owner", f"{name}-owner@example.com", "pw-owner-1")
        manager = users.create_user(f"{name}-mgr", f"{name}-mgr@example.com", "pw-manager-1")
        org = services.create_organization(name=name, slug=name, owner=owner)
        org.plan = Plan.objects.create(name=f"{name} reports", entitlements=["reports"])
        org.save()
        services.add_member(org, manager, Role.objects.get(name="Manager"))
        server, server_raw = services.create_key(
            organization=org, key_type="server", name="server", scopes=SCOPES, created_by=manager
        )
        user_key, user_raw = services.create_key(
            organization=org,
            key_type="user",
            name="user",
            user=manager,
            scopes=SCOPES,
            created_by=manager,
        )
        return {
            "org": str(org.pk),
            "owner": owner.pk,
            "manager": manager.pk,
            "server": {"id": str(server.pk), "raw": server_raw},
            "user": {"id": str(user_key.pk), "raw": user_raw},
        }

    if args.command == "oauth-scene":
        # An app registered by one organization, authorized by a member of another.
        from django_apikeys.oauth import services as oauth_services

        name = f"life-{uuid.uuid4().hex[:8]}"
        users = get_user_model().objects
        owner = users.create_user(f"{name}-owner", f"{name}-owner@example.com", args.password)
        member = users.create_user(f"{name}-member", f"{name}-member@example.com", args.password)
        apps_org = services.create_organization(name=name, slug=name, owner=owner)
        users_org = services.create_organization(name=f"{name} b", slug=f"{name}-b", owner=member)
        app, secret = oauth_services.register_app(
            organization=apps_org,
            name="Lifecycle integration",
            redirect_uris=[args.redirect_uri],
            scopes=["clients:read"],
            actor=owner,
        )
        return {
            "client_id": app.application.client_id,
            "client_secret": secret,
            "username": member.username,
            "apps_org": str(apps_org.pk),
            "users_org": str(users_org.pk),
        }
    if args.command == "delete-organization":
        services.delete_organization(Organization.objects.get(pk=args.org_id))
        return {"deleted": args.org_id}

    scene = json.loads(args.scene)
    org = Organization.objects.get(pk=scene["org"])
    owner = get_user_model().objects.get(pk=scene["owner"])
    manager = get_user_model().objects.get(pk=scene["manager"])
    membership = Membership.objects.get(organization=org, user=manager)
    keys = list(APIKey.objects.filter(pk__in=[scene["server"]["id"], scene["user"]["id"]]))
    now = timezone.now()
    if args.name == "revoke":
        for key in keys:
            services.revoke_key(key, actor=owner)
    elif args.name == "roll":
        for key in keys:
            actor = manager if key.user_id else owner
            services.roll_key(key, grace_period=datetime.timedelta(0), actor=actor)
    elif args.name == "expire":
        for key in keys:
            key.expires_at = now - datetime.timedelta(seconds=1)
            key.save(update_fields=["expires_at"])
    elif args.name == "delete_organization":
        services.delete_organization(org, actor=owner)
    elif args.name == "deactivate_organization":
        org.deactivated_at = now
        org.save()
    elif args.name == "deactivate_user":
        manager.is_active = False
        manager.save()
    elif args.name == "remove_member":
        services.remove_member(membership, actor=owner)
    elif args.name == "demote":
        services.change_role(membership, Role.objects.get(name="Editor"), actor=owner)
    elif args.name == "plan_change":
        org.plan = Plan.objects.create(name=f"{org.slug} plain", entitlements=[])
        org.save()
    else:  # pragma: no cover
        raise AssertionError(args.name)
    return {"applied": args.name}


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
