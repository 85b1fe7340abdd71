"""Seed the four reference roles with exactly the permission table of the ``typed_checksummed_keys`` reference design."""

from django.db import migrations

VIEW = "organization.view_organization"
CONTRIBUTE = "organization.contribute_organization"
BILLING = "organization.manage_billing"
API_KEYS = "organization.manage_api_keys"
MEMBERS = "organization.manage_members"
DELETE = "organization.delete_organization"

# name: (rank, description, permissions, scopes)
REFERENCE_ROLES = {
    "Owner": (
        40,
        "Everything, including deleting the organization.",
        [VIEW, CONTRIBUTE, BILLING, API_KEYS, MEMBERS, DELETE],
        ["*"],
    ),
    "Manager": (
        30,
        "Billing, members, content and API keys; not the organization itself.",
        [VIEW, CONTRIBUTE, BILLING, API_KEYS, MEMBERS],
        ["*"],
    ),
    "Billing": (20, "Billing only.", [VIEW, BILLING], ["billing:*"]),
    "Editor": (
        10,
        "Content (offers, products) only.",
        [VIEW, CONTRIBUTE],
        ["offers:*", "products:*"],
    ),
}


def seed_roles(apps, schema_editor):
    Role = apps.get_model("django_apikeys", "Role")
    for name, (rank, description, permissions, scopes) in REFERENCE_ROLES.items():
        Role.objects.update_or_create(
            name=name,
            defaults={
                "rank": rank,
                "description": description,
                "permissions": permissions,
                "scopes": scopes,
            },
        )


def unseed_roles(apps, schema_editor):
    Role = apps.get_model("django_apikeys", "Role")
    Role.objects.filter(name__in=REFERENCE_ROLES, memberships__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("django_apikeys", "0001_initial")]

    operations = [migrations.RunPython(seed_roles, unseed_roles)]
