from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Client, Invoice, Offer, Product, Transaction


class ClientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name", "email"]


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "client", "amount_cents", "currency", "created_at"]

    def validate_client(self, client: Client) -> Client:
        # IDOR at the object level: a client id of another organization is
        # indistinguishable from one that does not exist.
        if client.organization_id != self.context["organization"].pk:
            raise serializers.ValidationError("Invalid pk - object does not exist.")
        return client


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "price_cents"]


class OfferSerializer(serializers.ModelSerializer):
    class Meta:
        model = Offer
        fields = ["id", "title", "price_cents"]


class TransactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Transaction
        fields = ["id", "amount_cents", "currency", "reference", "created_at"]


class AssessSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=0)
    currency = serializers.CharField(max_length=3, min_length=3)

    def to_representation(self, instance: Any) -> Any:
        return instance


# Response shapes of the example's plain APIViews (for the OpenAPI schema).


class AssessResultSerializer(serializers.Serializer):
    risk = serializers.FloatField()
    organization = serializers.UUIDField()


class ReportedSerializer(serializers.Serializer):
    reported = serializers.BooleanField()


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()


class ReportsSerializer(serializers.Serializer):
    organization = serializers.UUIDField(allow_null=True)
    clients = serializers.IntegerField()


class MemberSerializer(serializers.Serializer):
    user = serializers.CharField()
    role = serializers.CharField()


class WhoAmISerializer(serializers.Serializer):
    user = serializers.CharField()
    key_type = serializers.CharField(allow_null=True)
    key_hint = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField(), allow_null=True)
    organization = serializers.UUIDField(allow_null=True)
