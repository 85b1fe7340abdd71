"""The example API. Every permission class of django-apikeys is used here.

Which key types each endpoint admits comes from ``settings.EXAMPLE_API`` so
that one set of views serves every settings profile (see ``profiles/``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_apikeys.permissions import (
    HasEntitlement,
    HasKeyType,
    HasOrganizationPermission,
    HasScopes,
    OrganizationMatchesURL,
    get_organization,
)

from .models import Client, Invoice, Offer, Product, Transaction
from .serializers import (
    AcceptedSerializer,
    AssessResultSerializer,
    AssessSerializer,
    ClientSerializer,
    InvoiceSerializer,
    MemberSerializer,
    OfferSerializer,
    ProductSerializer,
    ReportedSerializer,
    ReportsSerializer,
    TransactionSerializer,
    WhoAmISerializer,
)

DEFAULT_EXAMPLE_API = {
    "server_types": ["server", "user", "session"],
    "browser_types": ["publishable", "server"],
    "ingest_types": ["server"],
}


def example_setting(name: str) -> list[str]:
    return list({**DEFAULT_EXAMPLE_API, **getattr(settings, "EXAMPLE_API", {})}[name])


class KeyTypesFromSettings:
    key_types_setting = "server_types"

    @property
    def allowed_key_types(self) -> list[str]:
        return example_setting(self.key_types_setting)


class OrganizationScopedMixin(KeyTypesFromSettings):
    """List and create objects of the request's organization only."""

    model: Any

    def get_queryset(self) -> QuerySet[Any]:
        organization = get_organization(self.request, self)  # type: ignore[attr-defined]
        return self.model.objects.filter(organization=organization)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["organization"] = get_organization(self.request, self)  # type: ignore[attr-defined]
        return context

    def perform_create(self, serializer: Any) -> None:
        serializer.save(organization=get_organization(self.request, self))  # type: ignore[attr-defined]


class ClientList(OrganizationScopedMixin, generics.ListCreateAPIView):
    """GET/POST /api/v1/clients — scope clients:read / clients:write."""

    model = Client
    serializer_class = ClientSerializer
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    scope_resource = "clients"


_CLIENT_NOT_FOUND = OpenApiResponse(
    description="No such client in this organization (`not_found`): the same answer for "
    "another organization's client."
)


@extend_schema_view(
    get=extend_schema(responses={200: ClientSerializer, 404: _CLIENT_NOT_FOUND}),
    put=extend_schema(responses={200: ClientSerializer, 404: _CLIENT_NOT_FOUND}),
    patch=extend_schema(responses={200: ClientSerializer, 404: _CLIENT_NOT_FOUND}),
    delete=extend_schema(responses={204: None, 404: _CLIENT_NOT_FOUND}),
)
class ClientDetail(OrganizationScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    """GET/PATCH/DELETE /api/v1/clients/<id> — looked up within the request's
    organization only: another organization's client answers the same 404 as
    one that does not exist, so an id reveals nothing."""

    model = Client
    serializer_class = ClientSerializer
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    scope_resource = "clients"


class InvoiceList(OrganizationScopedMixin, generics.ListCreateAPIView):
    """GET/POST /api/v1/orgs/<org_id>/invoices — the URL's org must be the key's."""

    model = Invoice
    serializer_class = InvoiceSerializer
    permission_classes = [IsAuthenticated, OrganizationMatchesURL, HasKeyType, HasScopes]
    scope_resource = "invoices"


class ProductList(OrganizationScopedMixin, generics.ListCreateAPIView):
    """GET/POST /api/v1/products — X-API-Key or Bearer, scope products:read/write."""

    model = Product
    serializer_class = ProductSerializer
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    scope_resource = "products"


class WidgetProductList(OrganizationScopedMixin, generics.ListAPIView):
    """GET /api/v1/widget/products — the catalogue a browser widget embeds:
    browser-safe keys allowed, scope products:read."""

    model = Product
    serializer_class = ProductSerializer
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    key_types_setting = "browser_types"
    required_scopes = ["products:read"]


class OfferList(OrganizationScopedMixin, generics.ListCreateAPIView):
    """GET/POST /api/v1/orgs/<org_id>/offers — people whose role may contribute
    content (organization.contribute_organization: Owner, Manager, Editor),
    scope offers:read / offers:write. Organization keys pass only when their
    type gives them organization permissions (``organization_permissions``)."""

    model = Offer
    serializer_class = OfferSerializer
    permission_classes = [
        IsAuthenticated,
        OrganizationMatchesURL,
        HasKeyType,
        HasOrganizationPermission,
        HasScopes,
    ]
    required_permission = "organization.contribute_organization"
    scope_resource = "offers"


class TransactionList(OrganizationScopedMixin, generics.ListCreateAPIView):
    """GET/POST /api/v1/merchant/transactions — the merchant API: server-side
    key types only, scope transactions:read / transactions:write."""

    model = Transaction
    serializer_class = TransactionSerializer
    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    scope_resource = "transactions"


class Assess(KeyTypesFromSettings, APIView):
    """POST /api/v1/assess — browser-safe keys allowed; permission ``assess``."""

    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    key_types_setting = "browser_types"
    required_scopes = ["assess"]

    @extend_schema(request=AssessSerializer, responses=AssessResultSerializer)
    def post(self, request: Request) -> Response:
        serializer = AssessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        score = 0.9 if serializer.validated_data["amount"] > 100_000 else 0.1
        return Response({"risk": score, "organization": str(request.organization.pk)})


class ReportFraud(KeyTypesFromSettings, APIView):
    """POST /api/v1/report-fraud — server keys only, scope fraud:report."""

    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    required_scopes = ["fraud:report"]

    @extend_schema(request=None, responses={201: ReportedSerializer})
    def post(self, request: Request) -> Response:
        return Response({"reported": True}, status=status.HTTP_201_CREATED)


class Ingest(KeyTypesFromSettings, APIView):
    """POST /api/webhooks/ingest — event-ingest keys only."""

    permission_classes = [IsAuthenticated, HasKeyType, HasScopes]
    key_types_setting = "ingest_types"
    required_scopes = ["events:write"]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: AcceptedSerializer})
    def post(self, request: Request) -> Response:
        return Response({"accepted": True}, status=status.HTTP_202_ACCEPTED)


class Reports(KeyTypesFromSettings, APIView):
    """GET /api/v1/reports — the plan must include the ``reports`` module."""

    permission_classes = [IsAuthenticated, HasKeyType, HasEntitlement, HasScopes]
    required_entitlement = "reports"
    required_scopes = ["reports:read"]

    @extend_schema(responses=ReportsSerializer)
    def get(self, request: Request) -> Response:
        organization = get_organization(request, self)
        return Response(
            {
                "organization": str(organization.pk) if organization else None,
                "clients": Client.objects.filter(organization=organization).count(),
            }
        )


class OrganizationMembers(APIView):
    """GET /api/v1/orgs/<org_id>/members — role permission organization.manage_members."""

    permission_classes = [IsAuthenticated, OrganizationMatchesURL, HasOrganizationPermission]
    required_permission = "organization.manage_members"

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, org_id: str) -> Response:
        organization = get_organization(request, self)
        members = organization.memberships.select_related("user", "role") if organization else []
        return Response([{"user": m.user.get_username(), "role": m.role.name} for m in members])


class WhoAmI(APIView):
    """GET /api/v1/me — what the credential is; any authenticated caller."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WhoAmISerializer)
    def get(self, request: Request) -> Response:
        api_key = request.auth if hasattr(request.auth, "key_type") else None
        organization = get_organization(request, self)
        return Response(
            {
                "user": str(request.user),
                "key_type": api_key.key_type if api_key else None,
                "key_hint": api_key.hint if api_key else None,
                "scopes": api_key.scopes if api_key else None,
                "organization": str(organization.pk) if organization else None,
            }
        )
