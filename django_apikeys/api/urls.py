"""Management API URLs: ``path("api/manage/", include("django_apikeys.api.urls"))``.

Organizations are named by UUID or slug; keys by UUID and memberships by id,
looked up within that organization only.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "django_apikeys_api"

ORG = "organizations/<str:org_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("organizations/", views.OrganizationList.as_view(), name="organization_list"),
    path(ORG, views.OrganizationDetail.as_view(), name="organization_detail"),
    path(ORG + "key-types/", views.KeyTypeList.as_view(), name="key_type_list"),
    path(ORG + "keys/", views.KeyList.as_view(), name="key_list"),
    path(ORG + "keys/<str:key_id>/", views.KeyDetail.as_view(), name="key_detail"),
    path(ORG + "keys/<str:key_id>/roll/", views.KeyRoll.as_view(), name="key_roll"),
    path(ORG + "keys/<str:key_id>/revoke/", views.KeyRevoke.as_view(), name="key_revoke"),
    path(ORG + "roles/", views.RoleList.as_view(), name="role_list"),
    path(ORG + "members/", views.MemberList.as_view(), name="member_list"),
    path(ORG + "members/<str:membership_id>/", views.MemberDetail.as_view(), name="member_detail"),
    path(ORG + "usage/", views.Usage.as_view(), name="usage"),
    path(ORG + "audit/", views.AuditLog.as_view(), name="audit_log"),
]
