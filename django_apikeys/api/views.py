"""The management API: DRF views over :mod:`django_apikeys.services`.

Each view checks who may call it (:mod:`.permissions`), validates the shape
of the input (:mod:`.serializers`) and calls one service; a service's
``ValidationError`` becomes a 400 whose top-level ``code`` is the service's
code and whose fields name what was wrong. The views hold no key logic.

Objects are looked up within the organization in the URL only: a key or
membership id of another organization answers 404 ``not_found``, exactly
like one that does not exist. An organization the caller does not belong to
(or, for a key, that is not the key's) answers 403
``organization_mismatch``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .. import exceptions, metering, services
from ..conf import apikeys_settings
from ..credentials import Credential
from ..dashboard.views import can_roll
from ..models import APIKey, AuditEvent, Membership, Organization, Role
from ..networks import client_ip
from ..permissions import HasKeyType, OrganizationMatchesURL, get_organization
from ..scopes import normalize_scopes, outside
from ..services.invitations import site_url
from . import permissions as perms
from . import serializers as s
from ._schema import extend_schema, invalid, not_found, request_example
from .throttling import SessionWriteThrottle


class StrictJSONParser(JSONParser):
    """JSON whose strings are all valid Unicode: a lone surrogate
    (``"\\ud800"``) is valid JSON but no database can store it.

    A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused before it is read
    (413 ``payload_too_large``): DRF before 3.17 reads the request as a
    stream, which Django's own check on ``request.body`` never sees."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise exceptions.PayloadTooLarge()
        data = super().parse(stream, media_type, parser_context)
        if not _encodable(data):
            raise drf_exceptions.ParseError(_("JSON parse error - invalid Unicode in a string."))
        return data


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


class ManagementPagination(LimitOffsetPagination):
    """``?limit=`` (default 50, at most 100) and ``?offset=``; anything
    invalid falls back to the defaults rather than failing."""

    default_limit = 50
    max_limit = 100


def service_error(
    exc: DjangoValidationError, user_is_input: bool = False
) -> drf_exceptions.ValidationError:
    """A service's ``ValidationError`` as a 400: errors by field (``user``
    joins ``non_field_errors`` where it is no input) and the first code as
    the top-level ``code``."""
    detail: dict[str, Any] = dict(drf_serializers.as_serializer_error(exc))
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if "user" in detail and not user_is_input:
        detail.setdefault(non_field, []).extend(detail.pop("user"))
    codes = [e.code for errors in detail.values() for e in errors if getattr(e, "code", None)]
    if codes:
        detail["code"] = codes[0]
    return drf_exceptions.ValidationError(detail)


def validated(serializer_class: Any, data: Any) -> dict[str, Any]:
    """``serializer_class(data=data)``'s validated data, or a 400 whose
    top-level ``code`` is the first field error's code (e.g. ``required``)."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        detail = dict(serializer.errors)
        code = _first_code(serializer.errors)
        if code:
            detail["code"] = code
        raise drf_exceptions.ValidationError(detail)
    return serializer.validated_data  # type: ignore[no-any-return]


def _first_code(errors: Any) -> str | None:
    if isinstance(errors, drf_exceptions.ErrorDetail):
        return errors.code
    values = errors.values() if isinstance(errors, dict) else errors
    for value in values:
        code = _first_code(value)
        if code:
            return code
    return None


def no_store(response: Response) -> Response:
    """Keep a response that carries a raw key out of every cache."""
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0, private"
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


class ManagementView(GenericAPIView):
    """Base: a non-publishable credential, the organization in the URL, the
    endpoint's management scope (keys) and the role permission of the person
    behind the credential."""

    permission_classes = [
        IsAuthenticated,
        HasKeyType,
        OrganizationMatchesURL,
        perms.ManagementScopes,
        perms.PersonHasOrganizationPermission,
    ]
    pagination_class: Any = ManagementPagination
    serializer_class: Any = None
    parser_classes = [StrictJSONParser]
    scope_resource: str
    required_permission: str
    queryset = Organization.objects.none()  # each view narrows its own; for the schema

    @property
    def allowed_key_types(self) -> list[str]:
        return perms.management_key_types()

    def handle_exception(self, exc: Exception) -> Response:
        # Django raises RequestDataTooBig when DRF first reads the body; left
        # alone it becomes Django's HTML 400 and a logged error. Answer it as
        # the secret-scanning receiver does: 413 in the app's JSON body.
        if isinstance(exc, RequestDataTooBig):
            exc = exceptions.PayloadTooLarge()
        return super().handle_exception(exc)

    def get_throttles(self) -> list[Any]:
        """The site's throttles (keys: limits and metering), plus the
        dashboard's write budget for session users."""
        return [*super().get_throttles(), SessionWriteThrottle()]

    def get_organization(self) -> Organization:
        organization = get_organization(self.request, self)
        if organization is None:  # pragma: no cover - the permissions ran first
            raise exceptions.OrganizationMismatch()
        return organization

    def get_caller(self) -> perms.Caller:
        return perms.caller_for(self.request, self.get_organization())

    def ip(self) -> str | None:
        return client_ip(self.request._request)

    def paginated(self, queryset: QuerySet[Any], serializer_class: Any, **context: Any) -> Any:
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(
            page, many=True, context={**self.get_serializer_context(), **context}
        )
        return self.get_paginated_response(serializer.data)


# --- organizations -------------------------------------------------------------


@extend_schema(tags=["organizations"])
class OrganizationList(ManagementView):
    """The organizations the caller belongs to (a key: its own organization)."""

    permission_classes = [IsAuthenticated, HasKeyType, perms.ManagementScopes]
    scope_resource = perms.ORGANIZATIONS
    serializer_class = s.OrganizationSerializer

    @extend_schema(
        operation_id="organizations_list", responses=s.OrganizationSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        # A deleted organization is gone for its members (as on the dashboard).
        memberships = Membership.objects.filter(
            user_id=getattr(perms.person_behind(request), "pk", None),
            organization__deactivated_at__isnull=True,
        ).select_related("organization", "role")
        if isinstance(request.auth, (APIKey, Credential)):  # pinned to one organization
            memberships = memberships.filter(organization_id=request.auth.organization_id)
        by_org = {m.organization_id: m for m in memberships}
        organizations = Organization.objects.filter(pk__in=list(by_org)).order_by("name", "pk")
        return self.paginated(organizations, s.OrganizationSerializer, memberships=by_org)


@extend_schema(tags=["organizations"])
class OrganizationDetail(ManagementView):
    scope_resource = perms.ORGANIZATIONS
    required_permission = perms.VIEW_ORGANIZATION
    serializer_class = s.OrganizationSerializer

    @extend_schema(operation_id="organizations_retrieve")
    def get(self, request: Request, org_id: str) -> Response:
        caller = self.get_caller()
        organization = self.get_organization()
        memberships = {organization.pk: caller.membership} if caller.membership else {}
        return Response(
            s.OrganizationSerializer(organization, context={"memberships": memberships}).data
        )


# --- API keys ----------------------------------------------------------------------


class KeyView(ManagementView):
    """Keys: ``organization.manage_api_keys`` manages every key of the
    organization; a person (session or user key) whose role grants only
    ``organization.manage_own_api_keys`` manages their own user keys, and
    sees no one else's (the rule: :func:`~django_apikeys.services.manageable_keys`)."""

    scope_resource = perms.API_KEYS
    required_permission = perms.MANAGE_API_KEYS
    serializer_class: Any = s.APIKeySerializer

    def check_permissions(self, request: Request) -> None:
        auth = request.auth
        if getattr(request.user, "is_authenticated", False) and not (
            isinstance(auth, APIKey) and auth.user_id is None
        ):
            permissions = self.get_caller().role_permissions
            if services.manages_own_keys_only(permissions):
                self.required_permission = perms.MANAGE_OWN_API_KEYS
        super().check_permissions(request)

    def manageable_keys(self) -> QuerySet[APIKey]:
        """The organization's keys the person behind the request may see and act on."""
        caller = self.get_caller()
        keys = APIKey.objects.filter(organization=self.get_organization())
        return services.manageable_keys(keys, caller.role_permissions, caller.person)

    def get_key(self) -> APIKey:
        """The key in the URL, among the keys the caller manages (else 404)."""
        key = (
            self.manageable_keys()
            .select_related("user", "created_by", "organization")
            .filter(pk=_uuid(self.kwargs["key_id"]))
            .first()
            if _uuid(self.kwargs["key_id"])
            else None
        )
        if key is None:
            raise drf_exceptions.NotFound(_("No such API key in this organization."))
        return key

    def check_credential_scopes(self, scopes: list[str]) -> list[str]:
        """A key may only hand out scopes it carries itself."""
        held = self.get_caller().credential_scopes
        return [] if held is None else outside(scopes, held)


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


@extend_schema(tags=["api keys"])
class KeyTypeList(KeyView):
    """The configured key types: which scopes each may carry, who owns it."""

    serializer_class = s.KeyTypeSerializer
    pagination_class = None

    @extend_schema(operation_id="key_types_list", responses=s.KeyTypeSerializer(many=True))
    def get(self, request: Request, org_id: str) -> Response:
        data = [
            {
                "name": kt.name,
                "label": kt.label,
                "prefix": kt.prefix,
                "owner": kt.owner,
                "publishable": kt.publishable,
                "read_only": kt.read_only,
                "scopes": list(kt.scopes),
                "default_scopes": list(kt.default_scopes or ()),
                "rate_limit_per_minute": kt.rate_limit_per_minute,
                "rate_limit_per_day": kt.rate_limit_per_day,
                "lifetime_quota": kt.lifetime_quota,
            }
            for kt in apikeys_settings.key_types.values()
        ]
        return Response(s.KeyTypeSerializer(data, many=True).data)


@extend_schema(tags=["api keys"])
class KeyList(KeyView):
    """List the organization's keys (filters, pagination) or create one."""

    @extend_schema(
        operation_id="keys_list",
        parameters=[s.KeyFilterSerializer],
        responses={200: s.APIKeySerializer(many=True), 400: invalid()},
    )
    def get(self, request: Request, org_id: str) -> Response:
        wanted = validated(s.KeyFilterSerializer, request.query_params)
        keys = self.manageable_keys().select_related("user", "created_by")
        state = wanted["status"]
        if state == "active":
            keys = keys.active()
        elif state == "revoked":
            keys = keys.revoked()
        elif state == "expired":
            keys = keys.exclude(pk__in=keys.revoked()).exclude(pk__in=keys.active())
        if "key_type" in wanted:
            keys = keys.filter(key_type=wanted["key_type"])
        if "user" in wanted:
            keys = keys.filter(user_id=wanted["user"])
        if wanted.get("search"):
            term = wanted["search"]
            keys = keys.filter(Q(name__icontains=term) | Q(hint__icontains=term))
        return self.paginated(keys.order_by("-created_at", "pk"), s.APIKeySerializer)

    @extend_schema(
        operation_id="keys_create",
        request=s.APIKeyCreateSerializer,
        examples=request_example(
            "A server key for CI",
            {"name": "CI", "key_type": "server", "scopes": ["clients:read"]},
        ),
        responses={201: s.CreatedAPIKeySerializer},
        description=(
            "Create a key. The response is the only place the raw `key` ever appears "
            "(`Cache-Control: no-store`). A user-owned key type's key belongs to the person "
            "behind the request; organization keys cannot create those."
        ),
    )
    @sensitive_variables("raw_key")
    def post(self, request: Request, org_id: str) -> Response:
        caller = self.get_caller()
        data = validated(s.APIKeyCreateSerializer, request.data)
        kt = apikeys_settings.key_type(data["key_type"])
        assert kt is not None  # the serializer offers configured types only
        if kt.user_owned and caller.is_organization_key:
            raise exceptions.OrganizationPermissionDenied(
                _("An organization key cannot create user keys: they act as a person.")
            )
        if kt not in services.creatable_key_types(caller.role_permissions):
            raise exceptions.OrganizationPermissionDenied()
        try:
            scopes = normalize_scopes(data["scopes"])
        except DjangoValidationError as exc:
            raise service_error(DjangoValidationError({"scopes": exc.error_list})) from None
        beyond = self.check_credential_scopes(scopes)
        if beyond:
            raise drf_exceptions.ValidationError(
                {
                    "scopes": [
                        drf_exceptions.ErrorDetail(
                            _("This credential cannot grant scopes it does not carry: %(s)s.")
                            % {"s": ", ".join(beyond)},
                            code="scope_exceeds_credential",
                        )
                    ],
                    "code": "scope_exceeds_credential",
                }
            )
        try:
            api_key, raw_key = services.create_key(
                organization=self.get_organization(),
                key_type=kt.name,
                name=data["name"],
                user=caller.person if kt.user_owned else None,
                created_by=caller.person,
                scopes=scopes,
                expires_at=data.get("expires_at", services.DEFAULT_EXPIRY),
                rate_limit_per_minute=data["rate_limit_per_minute"],
                rate_limit_per_day=data["rate_limit_per_day"],
                allowed_origins=data["allowed_origins"],
                allowed_ips=data["allowed_ips"],
                ip_address=self.ip(),
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return _created(api_key, raw_key)


@sensitive_variables("raw_key")
def _created(api_key: APIKey, raw_key: str) -> Response:
    api_key.key = raw_key  # type: ignore[attr-defined]  # in memory, for this response only
    data = s.CreatedAPIKeySerializer(api_key).data
    del api_key.key  # type: ignore[attr-defined]
    return no_store(Response(data, status=status.HTTP_201_CREATED))


@extend_schema(tags=["api keys"])
class KeyDetail(KeyView):
    """One key: read it, or change its name, per-key limits, allowed origins or
    allowed IP addresses."""

    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(
        operation_id="keys_retrieve", responses={200: s.APIKeySerializer, 404: not_found("key")}
    )
    def get(self, request: Request, org_id: str, key_id: str) -> Response:
        return Response(s.APIKeySerializer(self.get_key()).data)

    @extend_schema(
        operation_id="keys_update",
        request=s.APIKeyUpdateSerializer,
        examples=request_example(
            "Rename, limit",
            {"name": "CI (main)", "rate_limit_per_minute": 120, "allowed_origins": []},
        ),
        responses={200: s.APIKeySerializer, 400: invalid(), 404: not_found("key")},
    )
    def patch(self, request: Request, org_id: str, key_id: str) -> Response:
        api_key = self.get_key()
        payload = validated(s.APIKeyUpdateSerializer, request.data)
        try:
            services.update_key(
                api_key,
                actor=self.get_caller().person,
                ip_address=self.ip(),
                **payload,
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return Response(s.APIKeySerializer(self.get_key()).data)


@extend_schema(tags=["api keys"])
class KeyRoll(KeyView):
    """Replace a key by a new one with the same settings; the old one keeps
    working for ``grace_period`` seconds. User keys: their owner only."""

    @extend_schema(
        operation_id="keys_roll",
        request=s.RollSerializer,
        examples=request_example("Keep the old key for an hour", {"grace_period": 3600}),
        responses={201: s.CreatedAPIKeySerializer, 404: not_found("key")},
    )
    @sensitive_variables("raw_key")
    def post(self, request: Request, org_id: str, key_id: str) -> Response:
        caller = self.get_caller()
        api_key = self.get_key()
        payload = validated(s.RollSerializer, request.data)
        if api_key.user_id is not None and (
            caller.is_organization_key or not can_roll(api_key, caller.person)
        ):
            raise exceptions.OrganizationPermissionDenied(
                _("Only the owner of a user key can roll it.")
            )
        beyond = self.check_credential_scopes(list(api_key.scopes))
        if beyond:
            raise exceptions.InsufficientScope(
                beyond,
                _("This credential cannot roll a key with scopes it does not carry: %(s)s.")
                % {"s": ", ".join(beyond)},
            )
        grace = payload.get("grace_period")
        try:
            new_key, raw_key = services.roll_key(
                api_key,
                actor=caller.person,
                grace_period=None if grace is None else datetime.timedelta(seconds=grace),
                ip_address=self.ip(),
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return _created(new_key, raw_key)


@extend_schema(tags=["api keys"])
class KeyRevoke(KeyView):
    """Revoke a key at once and for good (the next request with it gets 401).
    Revoking a revoked key changes nothing and answers the same."""

    @extend_schema(
        operation_id="keys_revoke",
        request=None,
        responses={200: s.APIKeySerializer, 404: not_found("key")},
    )
    def post(self, request: Request, org_id: str, key_id: str) -> Response:
        api_key = self.get_key()
        services.revoke_key(api_key, actor=self.get_caller().person, ip_address=self.ip())
        return Response(s.APIKeySerializer(self.get_key()).data)


# --- members -------------------------------------------------------------------------


class MemberView(ManagementView):
    scope_resource = perms.MEMBERS
    required_permission = perms.MANAGE_MEMBERS
    serializer_class: Any = s.MembershipSerializer
    permission_classes = [
        IsAuthenticated,
        HasKeyType,
        OrganizationMatchesURL,
        perms.ManagementScopes,
        perms.NoOrganizationKeys,
    ]

    def get_membership(self) -> Membership:
        raw = str(self.kwargs["membership_id"])
        membership = (
            Membership.objects.select_related("user", "role", "organization")
            .filter(organization=self.get_organization(), pk=int(raw))
            .first()
            if raw.isascii() and raw.isdigit() and len(raw) < 19
            else None
        )
        if membership is None:
            raise drf_exceptions.NotFound(_("No such member in this organization."))
        return membership


@extend_schema(tags=["members"])
class RoleList(MemberView):
    """The roles, and which of them the caller may grant."""

    serializer_class = s.RoleSerializer

    @extend_schema(operation_id="roles_list", responses=s.RoleSerializer(many=True))
    def get(self, request: Request, org_id: str) -> Response:
        person = self.get_caller().person
        organization = self.get_organization()
        roles = Role.objects.all()
        grantable = {r.pk for r in roles if services.can_grant_role(person, organization, r)}
        return self.paginated(
            roles.order_by("-rank", "name", "pk"), s.RoleSerializer, grantable=grantable
        )


@extend_schema(tags=["members"])
class MemberList(MemberView):
    """List members, or invite someone with a role you may grant.

    ``POST`` sends an invitation (as the dashboard's invitations page): the
    person joins only by accepting it with their own account, and the answer
    is the same whether the address has an account here or not.
    """

    @extend_schema(operation_id="members_list", responses=s.MembershipSerializer(many=True))
    def get(self, request: Request, org_id: str) -> Response:
        members = (
            Membership.objects.filter(organization=self.get_organization())
            .select_related("user", "role")
            .order_by("-role__rank", "user__username", "pk")
        )
        return self.paginated(members, s.MembershipSerializer)

    @extend_schema(
        operation_id="members_create",
        request=s.MemberInviteSerializer,
        examples=request_example(
            "Invite an Editor", {"email": "dana@example.com", "role": "Editor"}
        ),
        responses={201: s.InvitationSerializer, 400: invalid()},
    )
    def post(self, request: Request, org_id: str) -> Response:
        data = validated(s.MemberInviteSerializer, request.data)
        try:
            invitation = services.invite(
                self.get_organization(),
                email=data["email"],
                role=data["role"],
                actor=self.get_caller().person,
                base_url=site_url(request._request),
                ip_address=self.ip(),
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["members"])
class MemberDetail(MemberView):
    """One member: read, change the role, or remove (the last Owner stays)."""

    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(
        operation_id="members_retrieve",
        responses={200: s.MembershipSerializer, 404: not_found("member")},
    )
    def get(self, request: Request, org_id: str, membership_id: str) -> Response:
        return Response(s.MembershipSerializer(self.get_membership()).data)

    @extend_schema(
        operation_id="members_update",
        request=s.MemberChangeSerializer,
        examples=request_example("Make Billing", {"role": "Billing"}),
        responses={200: s.MembershipSerializer, 404: not_found("member")},
    )
    def patch(self, request: Request, org_id: str, membership_id: str) -> Response:
        membership = self.get_membership()
        payload = validated(s.MemberChangeSerializer, request.data)
        try:
            services.change_role(
                membership,
                payload["role"],
                actor=self.get_caller().person,
                ip_address=self.ip(),
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return Response(s.MembershipSerializer(self.get_membership()).data)

    @extend_schema(
        operation_id="members_destroy",
        responses={204: None, 400: invalid(), 404: not_found("member")},
    )
    def delete(self, request: Request, org_id: str, membership_id: str) -> Response:
        membership = self.get_membership()
        try:
            services.remove_member(
                membership, actor=self.get_caller().person, ip_address=self.ip()
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- usage and audit -----------------------------------------------------------------


@extend_schema(tags=["usage"])
class Usage(ManagementView):
    """Requests per day (today included, oldest first) for the organization,
    or for one of its keys (``?key=``, needs the API key permission too)."""

    scope_resource = perms.USAGE
    required_permission = perms.MANAGE_BILLING
    serializer_class = s.UsageSerializer

    @extend_schema(
        operation_id="usage_retrieve",
        parameters=[s.UsageQuerySerializer],
        responses={200: s.UsageSerializer, 400: invalid(), 404: not_found("key")},
    )
    def get(self, request: Request, org_id: str) -> Response:
        query = validated(s.UsageQuerySerializer, request.query_params)
        organization = self.get_organization()
        api_key = None
        if "key" in query:
            if not self.get_caller().has_permission(perms.MANAGE_API_KEYS):
                raise exceptions.OrganizationPermissionDenied(
                    _("Usage per key needs the permission to manage API keys.")
                )
            api_key = APIKey.objects.filter(organization=organization, pk=query["key"]).first()
            if api_key is None:
                raise drf_exceptions.NotFound(_("No such API key in this organization."))
        days = query["days"]
        series = metering.daily_usage(organization, api_key=api_key, days=days)
        return Response(
            s.UsageSerializer(
                {
                    "organization": organization.pk,
                    "key": api_key.pk if api_key else None,
                    "days": days,
                    "total": sum(count for _day, count in series),
                    "series": [{"date": day, "count": count} for day, count in series],
                }
            ).data
        )


@extend_schema(tags=["audit"])
class AuditLog(ManagementView):
    """Who did what in the organization, newest first (``?action=`` filters)."""

    scope_resource = perms.AUDIT
    required_permission = perms.MANAGE_MEMBERS
    serializer_class = s.AuditEventSerializer

    @extend_schema(
        operation_id="audit_list",
        parameters=[s.AuditFilterSerializer],
        responses={200: s.AuditEventSerializer(many=True), 400: invalid()},
    )
    def get(self, request: Request, org_id: str) -> Response:
        query = validated(s.AuditFilterSerializer, request.query_params)
        events = AuditEvent.objects.filter(organization=self.get_organization()).select_related(
            "actor"
        )
        if "action" in query:
            events = events.filter(action=query["action"])
        return self.paginated(events.order_by("-created_at", "-pk"), s.AuditEventSerializer)


__all__ = [
    "AuditLog",
    "KeyDetail",
    "KeyList",
    "KeyRevoke",
    "KeyRoll",
    "KeyTypeList",
    "ManagementPagination",
    "MemberDetail",
    "MemberList",
    "OrganizationDetail",
    "OrganizationList",
    "RoleList",
    "Usage",
]
