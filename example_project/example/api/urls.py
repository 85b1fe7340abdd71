from django.urls import path

from . import views

urlpatterns = [
    path("api/v1/me", views.WhoAmI.as_view(), name="me"),
    path("api/v1/clients", views.ClientList.as_view(), name="clients"),
    path("api/v1/clients/<int:pk>", views.ClientDetail.as_view(), name="client-detail"),
    path("api/v1/products", views.ProductList.as_view(), name="products"),
    path("api/v1/widget/products", views.WidgetProductList.as_view(), name="widget-products"),
    path("api/v1/orgs/<str:org_id>/offers", views.OfferList.as_view(), name="offers"),
    path("api/v1/merchant/transactions", views.TransactionList.as_view(), name="transactions"),
    path("api/v1/orgs/<str:org_id>/invoices", views.InvoiceList.as_view(), name="invoices"),
    path("api/v1/orgs/<str:org_id>/members", views.OrganizationMembers.as_view(), name="members"),
    path("api/v1/assess", views.Assess.as_view(), name="assess"),
    path("api/v1/report-fraud", views.ReportFraud.as_view(), name="report-fraud"),
    path("api/v1/reports", views.Reports.as_view(), name="reports"),
    path("api/webhooks/ingest", views.Ingest.as_view(), name="ingest"),
]
