"""Dashboard URLs: ``path("apikeys/", include("django_apikeys.urls"))``.

Every page below the switcher names its organization by UUID; the views
look it up among the user's memberships only (404 otherwise), and keys and
memberships within that organization only.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import invitations, organizations, usage, views

app_name = "django_apikeys"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.OrganizationListView.as_view(), name="organization_list"),
    path("logout/", views.DashboardLogoutView.as_view(), name="logout"),
    path("new/", organizations.OrganizationCreateView.as_view(), name="organization_create"),
    path(
        "invitations/<str:token>/",
        invitations.InvitationView.as_view(),
        name="invitation",
    ),
    path(
        "<uuid:org_id>/settings/",
        organizations.OrganizationSettingsView.as_view(),
        name="organization_settings",
    ),
    path(
        "<uuid:org_id>/delete/",
        organizations.OrganizationDeleteView.as_view(),
        name="organization_delete",
    ),
    path(
        "<uuid:org_id>/transfer/",
        organizations.OwnershipTransferView.as_view(),
        name="organization_transfer",
    ),
    path(
        "<uuid:org_id>/leave/",
        organizations.LeaveOrganizationView.as_view(),
        name="organization_leave",
    ),
    path(
        "<uuid:org_id>/invitations/",
        invitations.InvitationListView.as_view(),
        name="invitation_list",
    ),
    path(
        "<uuid:org_id>/invitations/<uuid:invitation_id>/resend/",
        invitations.InvitationResendView.as_view(),
        name="invitation_resend",
    ),
    path(
        "<uuid:org_id>/invitations/<uuid:invitation_id>/revoke/",
        invitations.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("<uuid:org_id>/", views.OrganizationDetailView.as_view(), name="organization_detail"),
    path("<uuid:org_id>/keys/", views.KeyListView.as_view(), name="key_list"),
    path("<uuid:org_id>/keys/new/", views.KeyCreateView.as_view(), name="key_create"),
    path("<uuid:org_id>/keys/<uuid:key_id>/roll/", views.KeyRollView.as_view(), name="key_roll"),
    path(
        "<uuid:org_id>/keys/<uuid:key_id>/revoke/",
        views.KeyRevokeView.as_view(),
        name="key_revoke",
    ),
    path(
        "<uuid:org_id>/keys/revoke-all/",
        views.RevokeAllKeysView.as_view(),
        name="key_revoke_all",
    ),
    path("<uuid:org_id>/members/", views.MemberListView.as_view(), name="member_list"),
    path(
        "<uuid:org_id>/members/<int:membership_id>/",
        views.MemberChangeView.as_view(),
        name="member_change",
    ),
    path(
        "<uuid:org_id>/members/<int:membership_id>/remove/",
        views.MemberRemoveView.as_view(),
        name="member_remove",
    ),
    path("<uuid:org_id>/audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("<uuid:org_id>/usage/", usage.UsageView.as_view(), name="usage"),
    path(
        "<uuid:org_id>/keys/<uuid:key_id>/usage/",
        usage.KeyUsageView.as_view(),
        name="key_usage",
    ),
]
