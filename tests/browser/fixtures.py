"""Fixtures shared by the dashboard's transactional tests."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.apps import apps


def seed_reference_roles() -> None:
    """(Re)create the four reference roles exactly as the data migrations do."""
    migration = importlib.import_module("django_apikeys.migrations.0002_reference_roles")
    migration.seed_roles(apps, None)
    importlib.import_module(
        "django_apikeys.migrations.0011_own_api_keys_permission"
    ).grant_own_keys(apps, None)


@pytest.fixture(scope="module")
def reference_roles(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[None]:
    """Keep the seeded roles around transactional tests.

    A ``transaction=True`` test ends with a flush that also deletes the roles
    the data migration seeded; tests that run later in the session (and the
    next test of this module) expect them. Module scope puts this teardown
    after the last test's flush.
    """
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        seed_reference_roles()
    yield
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        seed_reference_roles()


@pytest.fixture
def roles_each_test(reference_roles: None, transactional_db: None) -> None:
    """Roles present at the start of every test of a transactional module."""
    seed_reference_roles()
