"""Seed by seed: the behaviours each reference document names that the
common profile suite (``test_profiles.py``) does not cover, each run over
the profile of its document, plus a test that the other profiles keep the
app's defaults for them."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from example.api.models import Offer, Product
from example.profiles.scoped_user_keys import CLIENTCASA_RESOURCES

from django_apikeys import services
from django_apikeys.conf import apikeys_settings
from django_apikeys.dashboard.forms import KeyCreateForm
from django_apikeys.models import APIKey
from django_apikeys.throttling import effective_key_limits
from tests.factories import MembershipFactory, role
from tests.test_profiles import PROFILES, Profile

pytestmark = pytest.mark.django_db

SEED_000 = "example.profiles.typed_checksummed_keys"
SEED_001 = "example.profiles.endpoint_key_types"
SEED_002 = "example.profiles.scoped_user_keys"
SEED_003 = "example.profiles.org_header_test_tier"
SEED_004 = "example.profiles.bearer_multi_purpose_keys"


@pytest.fixture
def seed(request, settings):
    """``@pytest.mark.parametrize("seed", [SEED_00x], indirect=True)``."""
    return Profile(request.param, settings)


def on(module):
    return pytest.mark.parametrize("seed", [module], indirect=True, ids=[module.rsplit(".")[-1]])


# --- seed 001: endpoint key types ---------------------------------------------


@on(SEED_001)
def test_001_wildcard_on_a_checkout_key_is_everything_a_checkout_key_may_do(seed, api_client):
    api_key, raw = seed.key("checkout", scopes=["*"])
    assert api_key.scopes == ["assess"]
    ok = api_client.post(
        "/api/v1/assess", {"amount": 1, "currency": "USD"}, format="json", **seed.headers(raw)
    )
    assert ok.status_code == 200
    # And nothing more: not the server-only endpoints, whatever the scope.
    refused = api_client.post("/api/v1/report-fraud", {}, format="json", **seed.headers(raw))
    assert refused.json()["code"] == "wrong_key_type"
    server, _ = seed.key("server", scopes=["*"])
    assert server.scopes == ["*"]


@on(SEED_001)
def test_001_merchant_api_takes_server_keys_with_transactions_scopes(seed, api_client):
    _, server = seed.key("server", scopes=["transactions:read", "transactions:write"])
    created = api_client.post(
        "/api/v1/merchant/transactions",
        {"amount_cents": 1250, "currency": "EUR", "reference": "ord-1"},
        format="json",
        **seed.headers(server),
    )
    assert created.status_code == 201, created.content
    listed = api_client.get("/api/v1/merchant/transactions", **seed.headers(server))
    assert [t["reference"] for t in listed.json()] == ["ord-1"]
    _, fraud_only = seed.key("server", scopes=["fraud:report"])
    response = api_client.get("/api/v1/merchant/transactions", **seed.headers(fraud_only))
    assert response.status_code == 403
    assert response.json()["required_scopes"] == ["transactions:read"]
    for key_type in ("checkout", "ingest"):
        _, raw = seed.key(key_type)
        response = api_client.get("/api/v1/merchant/transactions", **seed.headers(raw))
        assert (response.status_code, response.json()["code"]) == (403, "wrong_key_type")


@on(SEED_001)
def test_001_key_in_query_is_accepted_with_a_warning_header_and_a_hint_only_log(
    seed, api_client, caplog
):
    api_key, raw = seed.key("server")
    with caplog.at_level(logging.WARNING, logger="django_apikeys"):
        response = api_client.get("/api/v1/me", {"api_key": raw})
    assert response.status_code == 200
    assert response.json()["key_hint"] == api_key.hint
    assert "Authorization header" in response["X-API-Key-Warning"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "django_apikeys"]
    assert len(warnings) == 1 and api_key.hint in warnings[0]
    assert raw not in caplog.text
    # The header still wins, and then there is no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django_apikeys"):
        response = api_client.get("/api/v1/me", **seed.headers(raw))
    assert "X-API-Key-Warning" not in response
    assert not [r for r in caplog.records if r.name == "django_apikeys"]


@on(SEED_001)
def test_001_query_warning_header_can_be_turned_off(seed, api_client, settings):
    settings.APIKEYS = {**settings.APIKEYS, "QUERY_KEY_WARNING_HEADER": ""}
    _, raw = seed.key("server")
    response = api_client.get("/api/v1/me", {"api_key": raw})
    assert response.status_code == 200 and "X-API-Key-Warning" not in response


# --- seed 000: typed, checksummed keys ----------------------------------------


@on(SEED_000)
def test_000_publishable_key_default_scopes_reach_the_widget_endpoint(seed, api_client):
    Product.objects.create(organization=seed.org, name="Lamp", price_cents=900)
    api_key, raw = seed.key("publishable")  # the type's default scopes
    assert "products:read" in api_key.scopes
    headers = {"HTTP_X_API_KEY": raw}
    response = api_client.get("/api/v1/widget/products", **headers)
    assert response.status_code == 200, response.content
    assert [p["name"] for p in response.json()] == ["Lamp"]
    # The management endpoints stay closed to it.
    assert api_client.get("/api/v1/clients", **headers).json()["code"] == "wrong_key_type"


@on(SEED_000)
def test_000_per_key_limit_zero_is_the_global_default(seed, api_client):
    conf = apikeys_settings
    zero, raw = seed.key("publishable")
    assert (zero.rate_limit_per_minute, zero.rate_limit_per_day) == (0, 0)
    assert effective_key_limits(zero) == (
        conf.DEFAULT_RATE_LIMIT_PER_MINUTE,
        conf.DEFAULT_RATE_LIMIT_PER_DAY,
    )
    response = api_client.get("/api/v1/widget/products", HTTP_X_API_KEY=raw)
    assert response["X-RateLimit-Limit"] == str(conf.DEFAULT_RATE_LIMIT_PER_MINUTE)
    own, own_raw = seed.key("publishable", rate_limit_per_minute=5, rate_limit_per_day=50)
    assert effective_key_limits(own) == (5, 50)
    response = api_client.get("/api/v1/widget/products", HTTP_X_API_KEY=own_raw)
    assert response["X-RateLimit-Limit"] == "5"


@on(SEED_000)
def test_000_last_used_is_updated_on_each_authenticated_request(seed, api_client):
    api_key, raw = seed.key("business")
    seen, updates = [], []

    def count_updates(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "last_used" in sql:
            updates.append(sql)
        return execute(sql, params, many, context)

    for _ in range(3):
        with connection.execute_wrapper(count_updates):
            assert api_client.get("/api/v1/me", HTTP_X_API_KEY=raw).status_code == 200
        api_key.refresh_from_db()
        seen.append(api_key.last_used)
    assert None not in seen
    assert seen[0] < seen[1] < seen[2]
    # The cost of that choice, as docs/performance.rst states: one UPDATE per request.
    assert len(updates) == 3


@on(SEED_000)
@pytest.mark.parametrize(
    "role_name, status", [("Owner", 201), ("Manager", 201), ("Editor", 201), ("Billing", 403)]
)
def test_000_offers_need_the_contribute_permission(seed, client, role_name, status):
    member = MembershipFactory(organization=seed.org, role=role(role_name))
    client.force_login(member.user)
    url = f"/api/v1/orgs/{seed.org.pk}/offers"
    response = client.post(url, {"title": "Spring sale"}, content_type="application/json")
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json()["code"] == "permission_denied"
        assert not Offer.objects.exists()
    else:
        assert client.get(url).json()[0]["title"] == "Spring sale"


@on(SEED_000)
def test_000_offers_through_user_keys_follow_the_owners_role(seed, api_client):
    editor = MembershipFactory(organization=seed.org, role=role("Editor"))
    billing = MembershipFactory(organization=seed.org, role=role("Billing"))
    url = f"/api/v1/orgs/{seed.org.pk}/offers"
    _, editor_key = services.create_key(
        organization=seed.org, key_type="user", name="e", user=editor.user, scopes=["offers:*"]
    )
    _, billing_key = services.create_key(
        organization=seed.org, key_type="user", name="b", user=billing.user, scopes=["billing:*"]
    )
    _, business_key = seed.key("business")
    assert api_client.get(url, HTTP_X_API_KEY=editor_key).status_code == 200
    assert api_client.get(url, HTTP_X_API_KEY=billing_key).json()["code"] == "permission_denied"
    # Business keys hold the Manager role's organization permissions.
    assert api_client.get(url, HTTP_X_API_KEY=business_key).status_code == 200


# --- seed 002: scoped user keys -----------------------------------------------


def create_form(seed, key_type):
    """The dashboard's create form for ``key_type``, as the profile's owner sees it."""
    return KeyCreateForm(
        key_type=apikeys_settings.key_types[key_type], organization=seed.org, user=seed.owner.user
    )


@on(SEED_002)
def test_002_scope_grid_offers_all_fifteen_resources(seed):
    form = create_form(seed, "personal")
    offered = {value for value, _label in form.fields["scopes"].choices}
    # The document's table: fifteen resources, from clients to webhooks.
    assert len(CLIENTCASA_RESOURCES) == 15
    assert {"clients", "time-entries", "calendar-events", "catalog-items", "webhooks"} <= set(
        CLIENTCASA_RESOURCES
    )
    for resource in CLIENTCASA_RESOURCES:
        assert {f"{resource}:read", f"{resource}:write"} <= offered, resource
    assert {row.resource for row in form.rows} >= set(CLIENTCASA_RESOURCES)


@on(SEED_002)
def test_002_missing_scope_is_403_forbidden_in_the_documents_words(seed, api_client):
    _, raw = seed.key("personal", scopes=["read:time-entries", "calendar-events:write"])
    api_key = APIKey.objects.get(name="personal key")
    assert api_key.scopes == ["calendar-events:write", "time-entries:read"]
    response = api_client.get("/api/v1/clients", HTTP_X_API_KEY=raw)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "insufficient_scope" and body["type"] == "ForbiddenError"
    assert body["detail"].startswith("Forbidden")
    assert "clients:read" in body["detail"]


@on(SEED_002)
@pytest.mark.parametrize("role_name", ["Editor", "Billing", "Manager"])
def test_002_each_member_makes_their_own_personal_key(seed, client, api_client, role_name):
    """ "Create keys at Settings → API Keys": every member, their own key, within
    their role; a member who does not manage keys sees only their own."""
    member = MembershipFactory(organization=seed.org, role=role(role_name))
    _, others = seed.key("personal", name="the owner's key")
    client.force_login(member.user)
    new = f"/apikeys/{seed.org.pk}/keys/new/"
    page = client.get(new)
    scopes = sorted(role(role_name).scopes)[:1]
    created = client.post(
        new,
        {
            "key_type": "personal",
            "form_token": page.context["form"]["form_token"].value(),
            "name": "mine",
            "expiry": "never",
            "extra_scopes": " ".join(scopes),
        },
    )
    assert created.status_code == 200, created.content
    api_key, raw = created.context["api_key"], created.context["raw_key"]
    assert api_key.user == member.user and raw.startswith("sk_live_")
    assert api_client.get("/api/v1/me", HTTP_X_API_KEY=raw).status_code == 200
    listed = client.get(f"/apikeys/{seed.org.pk}/keys/").content.decode()
    assert api_key.hint in listed
    assert (APIKey.objects.exclude(pk=api_key.pk).get().hint in listed) is (role_name == "Manager")


@on(SEED_002)
def test_002_organization_is_stamped_as_organization_id(seed, api_client):
    import jwt

    from tests.oauth.conftest import make_world

    world = make_world()
    body = world.tokens(scope="clients:read")
    token = body["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["organizationId"] == str(world.org.pk) and "org" not in claims
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["organization"] == str(world.org.pk)
    # Access tokens for 1 hour, refresh tokens for 30 days (rotated on use).
    from oauth2_provider.settings import oauth2_settings

    assert claims["exp"] - claims["iat"] == 3600
    assert oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS == 30 * 24 * 60 * 60
    refreshed = world.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["refresh_token"] != body["refresh_token"]
    # The claim is read under its configured name only.
    seed_claim = settings_oauth_claim("org")
    with seed_claim:
        refused = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.json()["code"] == "invalid_token"


class settings_oauth_claim:
    """Switch ``ORGANIZATION_CLAIM`` for a block (override_settings reloads the token cache)."""

    def __init__(self, name):
        from django.conf import settings
        from django.test import override_settings

        self.override = override_settings(
            APIKEYS_OAUTH={**settings.APIKEYS_OAUTH, "ORGANIZATION_CLAIM": name}
        )

    def __enter__(self):
        self.override.enable()

    def __exit__(self, *exc):
        self.override.disable()


# --- seed 003: stage 1 takes an API key or a JWT ----------------------------------


@on(SEED_003)
def test_003_oauth_tokens_in_stage_1_with_the_organization_header(seed, api_client):
    from tests.oauth.conftest import make_world

    world = make_world()
    token = world.tokens(scope="clients:read")["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    header = apikeys_settings.organization_header_meta
    missing = api_client.get("/api/v1/clients", **bearer)
    assert (missing.status_code, missing.json()["code"]) == (400, "organization_required")
    other = api_client.get("/api/v1/clients", **{**bearer, header: str(seed.org.pk)})
    assert (other.status_code, other.json()["code"]) == (403, "organization_mismatch")
    ok = api_client.get("/api/v1/clients", **{**bearer, header: str(world.org.pk)})
    assert ok.status_code == 200, ok.content
    in_url = api_client.get(
        f"/api/v1/orgs/{seed.org.pk}/invoices", **{**bearer, header: str(world.org.pk)}
    )
    assert in_url.json()["code"] == "organization_mismatch"


# --- seed 004: environments -----------------------------------------------------


@on(SEED_004)
def test_004_keys_for_different_environments(seed, api_client):
    for environment in ("development", "staging", "production"):
        api_key, raw = seed.key("server", environment=environment, name=environment)
        assert api_client.get("/api/v1/me", **seed.headers(raw)).status_code == 200
        assert api_key.environment == environment
    with pytest.raises(ValidationError) as exc:
        seed.key("server", environment="qa")
    assert exc.value.error_dict["environment"][0].code == "invalid_environment"


# --- the other profiles are unchanged -------------------------------------------


@pytest.mark.parametrize("module", PROFILES, ids=lambda p: p.rsplit(".", 1)[-1])
def test_each_profile_changes_only_what_its_document_asks(module, settings, api_client):
    """The new behaviours are opt-in: every other profile keeps the app's
    defaults (key in query refused, no playground, no environments,
    ``last_used`` throttled)."""
    profile = Profile(module, settings)
    conf = apikeys_settings
    assert conf.ALLOW_KEY_IN_QUERY is (module == SEED_001)
    assert bool(conf.PLAYGROUND_KEY_TYPE) is (module == SEED_003)
    assert bool(conf.ENVIRONMENTS) is (module == SEED_004)
    assert (conf.LAST_USED_INTERVAL == 0) is (module == SEED_000)
    server = profile.server_types()[0]
    _, raw = profile.key(server)
    extra = profile.headers(raw)
    del extra["HTTP_AUTHORIZATION"]
    in_query = api_client.get("/api/v1/me", {"api_key": raw}, **extra)
    if module == SEED_001:
        assert in_query.status_code == 200
    else:
        assert in_query.json()["code"] == "key_in_query"
        assert "X-API-Key-Warning" not in in_query
    playground = api_client.post(
        "/api/v1/playground/keys", {"fingerprint": "f" * 32}, format="json"
    )
    assert playground.status_code == (201 if module == SEED_003 else 404)


def test_createapikey_sets_the_environment(settings):
    Profile(SEED_004, settings)
    out = call_command_output(
        "createapikey",
        "--environment",
        "staging",
        "--scope",
        "*",
        *_org_and_type(),
        "Staging backend",
    )
    api_key = APIKey.objects.get(name="Staging backend")
    assert api_key.environment == "staging" and api_key.hint.split("_")[0] == "sk"
    assert out.strip() and out.strip() not in api_key.hint


def _org_and_type():
    from django_apikeys.models import Organization

    return [str(Organization.objects.get().pk), "server"]


def call_command_output(*args):
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


@on(SEED_001)
def test_001_dashboard_shows_the_friendly_key_type_labels(seed, client):
    client.force_login(seed.owner.user)
    page = client.get(f"/apikeys/{seed.org.pk}/keys/new/").content.decode()
    for label in ("Checkout (browser)", "Server (backend)", "Event ingest"):
        assert label in page


@on(SEED_000)
def test_000_one_csu_key_across_the_owners_organizations_and_csb_full_permissions(
    seed, api_client
):
    """Owner of A, Editor of B, one ``csu`` key: each organization's role bounds
    it, role changes and removals apply on the next request; ``csb`` keys hold
    the Manager role's organization permissions, never more than their creator."""
    from django_apikeys.models import Membership
    from tests.factories import OrganizationFactory, UserFactory

    a, b = seed.org, OrganizationFactory()
    user = UserFactory()
    MembershipFactory(user=user, organization=a, role=role("Owner"))
    MembershipFactory(user=user, organization=b, role=role("Editor"))
    _, csu = services.create_key(
        organization=a,
        key_type="user",
        name="mine",
        user=user,
        created_by=user,
        scopes=["offers:read", "offers:write", "members:read"],
    )
    assert csu.startswith("csu_")
    for org, offers, members in ((a, 201, 200), (b, 201, 403)):
        created = api_client.post(
            f"/api/v1/orgs/{org.pk}/offers",
            {"title": f"Sale in {org.slug}"},
            format="json",
            HTTP_X_API_KEY=csu,
        )
        assert created.status_code == offers, created.content
        listed = api_client.get(f"/api/v1/orgs/{org.pk}/members", HTTP_X_API_KEY=csu)
        assert listed.status_code == members
    assert set(Offer.objects.values_list("organization_id", flat=True)) == {a.pk, b.pk}
    # Promoted in B: the next request may manage members there.
    Membership.objects.filter(user=user, organization=b).update(role=role("Manager"))
    assert api_client.get(f"/api/v1/orgs/{b.pk}/members", HTTP_X_API_KEY=csu).status_code == 200
    # Removed from B: refused there at once, still at home.
    Membership.objects.filter(user=user, organization=b).delete()
    gone = api_client.get(f"/api/v1/orgs/{b.pk}/offers", HTTP_X_API_KEY=csu)
    assert gone.json()["code"] == "organization_mismatch"
    assert api_client.get(f"/api/v1/orgs/{a.pk}/offers", HTTP_X_API_KEY=csu).status_code == 200
    # Never an organization the user does not belong to.
    stranger = OrganizationFactory()
    refused = api_client.get(f"/api/v1/orgs/{stranger.pk}/offers", HTTP_X_API_KEY=csu)
    assert refused.json()["code"] == "organization_mismatch"
    # csb: the Manager role's permissions, created by a Manager.
    manager = MembershipFactory(organization=a, role=role("Manager"))
    _, csb = services.create_key(
        organization=a,
        key_type="business",
        name="backend",
        created_by=manager.user,
        scopes=["offers:read", "members:read"],
    )
    assert api_client.get(f"/api/v1/orgs/{a.pk}/offers", HTTP_X_API_KEY=csb).status_code == 200
    assert api_client.get(f"/api/v1/orgs/{a.pk}/members", HTTP_X_API_KEY=csb).status_code == 200
    # ... and pinned: B is not its organization.
    assert (
        api_client.get(f"/api/v1/orgs/{b.pk}/offers", HTTP_X_API_KEY=csb).json()["code"]
        == "organization_mismatch"
    )
    editor = MembershipFactory(organization=a, role=role("Editor"))
    with pytest.raises(ValidationError) as refused:
        services.create_key(
            organization=a,
            key_type="business",
            name="x",
            created_by=editor.user,
            scopes=["offers:read"],
        )
    (error,) = refused.value.error_dict["key_type"]
    assert error.code == "permissions_exceed_creator"


@on(SEED_000)
def test_000_publishable_keys_expire(seed, api_client):
    import datetime

    from django.utils import timezone

    api_key, raw = seed.key("publishable", expires_at=timezone.now() + datetime.timedelta(days=1))
    assert api_client.get("/api/v1/widget/products", HTTP_X_API_KEY=raw).status_code == 200
    APIKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now())
    response = api_client.get("/api/v1/widget/products", HTTP_X_API_KEY=raw)
    assert (response.status_code, response.json()["code"]) == (401, "key_expired")


@on(SEED_003)
def test_003_test_keys_are_rate_limited_with_a_lifetime_quota(seed, api_client):
    _, limited = seed.key("test")
    first = api_client.get("/api/v1/clients", **seed.headers(limited))
    assert first.status_code == 200 and first["X-RateLimit-Limit"] == "10"
    # A per-key limit above the quota shows the quota alone: 10 calls, for good.
    _, raw = seed.key("test", rate_limit_per_minute=100)
    for _ in range(10):
        assert api_client.get("/api/v1/clients", **seed.headers(raw)).status_code == 200
    spent = api_client.get("/api/v1/clients", **seed.headers(raw))
    assert (spent.status_code, spent.json()["code"]) == (429, "quota_exhausted")


@on(SEED_000)
def test_000_create_form_says_what_zero_means(seed):
    form = create_form(seed, "publishable")
    assert "(120;" in str(form.fields["rate_limit_per_minute"].help_text)
    assert "(10000;" in str(form.fields["rate_limit_per_day"].help_text)
