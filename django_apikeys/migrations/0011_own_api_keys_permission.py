"""Every reference role may manage its members' own user keys
(``organization.manage_own_api_keys``): each member makes their own personal
key, bounded by their role."""

from django.db import migrations

MANAGE_OWN_API_KEYS = "organization.manage_own_api_keys"
REFERENCE_ROLES = ("Owner", "Manager", "Billing", "Editor")


def grant_own_keys(apps, schema_editor):
    Role = apps.get_model("django_apikeys", "Role")
    for role in Role.objects.filter(name__in=REFERENCE_ROLES):
        if MANAGE_OWN_API_KEYS not in role.permissions:
            role.permissions = [*role.permissions, MANAGE_OWN_API_KEYS]
            role.save(update_fields=["permissions"])


def revoke_own_keys(apps, schema_editor):
    Role = apps.get_model("django_apikeys", "Role")
    for role in Role.objects.all():
        if MANAGE_OWN_API_KEYS in role.permissions:
            role.permissions = [p for p in role.permissions if p != MANAGE_OWN_API_KEYS]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("django_apikeys", "0010_oauth_audit_actions")]

    operations = [migrations.RunPython(grant_own_keys, revoke_own_keys)]
