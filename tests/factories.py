"""factory-boy factories for the app's models."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from django_apikeys import services
from django_apikeys.conf import apikeys_settings
from django_apikeys.models import Membership, Organization, Plan, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"Plan {n}")
    entitlements = factory.LazyFunction(list)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


def role(name: str) -> Role:
    """A reference role; re-seeded by the data migration's own function when a
    transactional test flushed the table."""
    from importlib import import_module

    from django.apps import apps

    if not Role.objects.filter(name=name).exists():
        import_module("django_apikeys.migrations.0002_reference_roles").seed_roles(apps, None)
        import_module("django_apikeys.migrations.0011_own_api_keys_permission").grant_own_keys(
            apps, None
        )
    return Role.objects.get(name=name)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = factory.LazyFunction(lambda: role("Owner"))


def make_key(organization: Organization | None = None, key_type: str = "server", **kwargs: Any):
    """Create a key through the service; returns ``(api_key, raw_key)``.

    Unlike the service (which names no scopes for its caller and sets an
    expiry), a test key carries its type's whole allowance and never expires
    unless the test says otherwise.
    """
    organization = organization or OrganizationFactory()
    kwargs.setdefault("name", f"{key_type} key")
    kt = apikeys_settings.key_type(key_type)
    if "scopes" not in kwargs and kt is not None and kt.default_scopes is None:
        kwargs["scopes"] = list(kt.scopes)
    kwargs.setdefault("expires_at", None)
    return services.create_key(organization=organization, key_type=key_type, **kwargs)


def bearer(raw_key: str) -> dict[str, str]:
    """Test-client keyword arguments sending ``raw_key`` as a Bearer credential."""
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
