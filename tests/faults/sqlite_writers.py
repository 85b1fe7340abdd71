"""8 concurrent writers on one SQLite file: run as ``python -m tests.faults.sqlite_writers DB``.

Each of 8 threads (its own connection) rolls keys through the dashboard (GET
the roll page for its one-time token, POST the roll) and through the
services (create, roll, revoke, add and remove a member). Prints one JSON
object: requests and iterations done, 5xx answers and exceptions seen.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from typing import Any

THREADS = 8
DASHBOARD_ROLLS = 3  # per thread: 24 rolls, as in the review
SERVICE_ITERATIONS = 15  # per thread: 120, as in the review


def main(path: str) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from django_apikeys import services
    from django_apikeys.models import APIKey, Membership, Organization, Role
    from tests.factories import UserFactory

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Writers", slug="writers")
    owner_role = Role.objects.get(name="Owner")
    editor_role = Role.objects.get(name="Editor")
    users = [UserFactory(username=f"writer{n}") for n in range(THREADS)]
    for user in users:
        Membership.objects.create(user=user, organization=org, role=owner_role)
    extras = [UserFactory(username=f"extra{n}") for n in range(THREADS)]
    keys = [
        services.create_key(organization=org, key_type="server", name=f"k{n}", scopes=["*"])[0]
        for n in range(THREADS)
    ]
    connection.close()

    results: dict[str, list[Any]] = {"statuses": [], "errors": [], "iterations": []}
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        from django.db import connection as thread_connection

        client = Client(raise_request_exception=False)
        client.force_login(users[n])
        key = APIKey.objects.get(pk=keys[n].pk)
        barrier.wait(timeout=60)
        try:
            for _ in range(DASHBOARD_ROLLS):
                url = f"/apikeys/{org.pk}/keys/{key.pk}/roll/"
                page = client.get(url)
                token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode())
                response = client.post(
                    url, {"form_token": token.group(1) if token else "", "grace_period": "0"}
                )
                with lock:
                    results["statuses"].append(response.status_code)
                key = APIKey.objects.filter(replaces=key).first() or key
            for i in range(SERVICE_ITERATIONS):
                try:
                    created, _raw = services.create_key(
                        organization=org, key_type="server", name=f"t{n}-{i}", scopes=["*"]
                    )
                    rolled, _raw = services.roll_key(created, actor=users[n])
                    services.revoke_key(rolled, actor=users[n])
                    member = services.add_member(org, extras[n], editor_role, actor=users[n])
                    services.change_role(member, owner_role, actor=users[n])
                    services.remove_member(member, actor=users[n])
                    with lock:
                        results["iterations"].append(n)
                except Exception as exc:  # counted and reported, not raised
                    with lock:
                        results["errors"].append(f"{type(exc).__name__}: {exc}")
        finally:
            thread_connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    statuses = results["statuses"]
    return {
        "seconds": round(time.monotonic() - started, 2),
        "dashboard_rolls": len(statuses),
        "dashboard_5xx": sum(s >= 500 for s in statuses),
        "dashboard_statuses": sorted(set(statuses)),
        "service_iterations": len(results["iterations"]),
        "service_errors": results["errors"][:5],
        "service_error_count": len(results["errors"]),
        "alive": sum(t.is_alive() for t in threads),
    }


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout)
