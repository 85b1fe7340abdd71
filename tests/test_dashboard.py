"""The dashboard: every page × every role, IDOR, CSRF, and bad input.

Journeys (create → show once → use → roll → revoke, members) are in
``test_dashboard_journeys.py``; the raw-key search in
``test_dashboard_raw_key.py``; the real browser in ``tests/browser/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from django_apikeys.models import APIKey, AuditEvent, Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db

ROLES = ["Owner", "Manager", "Billing", "Editor"]

#: page name -> roles that may open it (seeded reference roles). Every role
#: manages its own user keys: the key list (their own keys) and the create page.
ACCESS = {
    "organization_detail": {"Owner", "Manager", "Billing", "Editor"},
    "key_list": {"Owner", "Manager", "Billing", "Editor"},
    "key_create": {"Owner", "Manager", "Billing", "Editor"},
    "key_roll": {"Owner", "Manager"},
    "key_revoke": {"Owner", "Manager"},
    "member_list": {"Owner", "Manager"},
    "member_change": {"Owner", "Manager"},
    "member_remove": {"Owner", "Manager"},
    "audit_log": {"Owner", "Manager"},
    "usage": {"Owner", "Manager", "Billing"},
}
#: Pages of one key: someone else's key is not among those a member who manages
#: only their own keys may see (404, as for another organization's key).
OWN_KEY_PAGES = {"key_roll", "key_revoke"}
POST_PAGES = [
    "key_create",
    "key_roll",
    "key_revoke",
    "member_list",
    "member_change",
    "member_remove",
]


@dataclass
class Org:
    organization: Organization
    members: dict[str, Membership]
    api_key: APIKey

    def user(self, role_name: str) -> Any:
        return self.members[role_name].user


@pytest.fixture
def org() -> Org:
    organization = OrganizationFactory()
    members = {
        name: MembershipFactory(organization=organization, role=role(name)) for name in ROLES
    }
    api_key, _raw = make_key(organization, created_by=members["Owner"].user)
    return Org(organization, members, api_key)


def url_for(page: str, org: Org, **overrides: Any) -> str:
    args: list[Any] = [overrides.get("org_id", org.organization.pk)]
    if page.startswith("key_") and page not in ("key_list", "key_create"):
        args.append(overrides.get("key_id", org.api_key.pk))
    if page in ("member_change", "member_remove"):
        args.append(overrides.get("membership_id", org.members["Editor"].pk))
    return reverse(f"django_apikeys:{page}", args=args)


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


@pytest.mark.parametrize("role_name", ROLES)
@pytest.mark.parametrize("page", sorted(ACCESS))
def test_page_access_by_role(client, org, page, role_name):
    login(client, org.user(role_name))
    response = client.get(url_for(page, org))
    expected = 200 if role_name in ACCESS[page] else 404 if page in OWN_KEY_PAGES else 403
    assert response.status_code == expected


@pytest.mark.parametrize("role_name", ["Billing", "Editor"])
@pytest.mark.parametrize("page", ["key_create", "key_roll", "key_revoke", "member_list"])
def test_post_denied_without_the_role_permission(client, org, page, role_name):
    login(client, org.user(role_name))
    before = (APIKey.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    data = {"name": "x", "scopes": ["*"], "expiry": "never", "grace_period": "0"}
    data.update(user=UserFactory().username, role=role("Editor").pk, key_type="server")
    response = client.post(url_for(page, org), data)
    assert response.status_code == (404 if page in OWN_KEY_PAGES else 403)
    org.api_key.refresh_from_db()
    assert org.api_key.is_usable
    after = (APIKey.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    assert after == before


@pytest.mark.parametrize("page", sorted(ACCESS))
def test_other_organizations_url_is_404(client, org, page):
    """A member of org A editing the URL to org B's id gets 404, never data."""
    outsider = MembershipFactory(role=role("Owner"))  # Owner of another org
    login(client, outsider.user)
    response = client.get(url_for(page, org))
    assert response.status_code == 404
    assert org.organization.name not in response.content.decode()


@pytest.mark.parametrize("page", ["key_roll", "key_revoke", "member_change", "member_remove"])
def test_objects_of_another_organization_are_404_under_your_own(client, org, page):
    """Your org in the URL, someone else's key or membership id: still 404."""
    other = Org(
        OrganizationFactory(),
        {"Editor": MembershipFactory(role=role("Editor"))},
        make_key(OrganizationFactory())[0],
    )
    login(client, org.user("Owner"))
    url = url_for(page, org, key_id=other.api_key.pk, membership_id=other.members["Editor"].pk)
    assert client.get(url).status_code == 404
    assert client.post(url, {"grace_period": "0", "role": role("Editor").pk}).status_code == 404
    assert other.api_key.__class__.objects.get(pk=other.api_key.pk).is_usable
    assert Membership.objects.filter(pk=other.members["Editor"].pk).exists()


def test_unknown_organization_id_is_404(client, org):
    login(client, org.user("Owner"))
    url = reverse(
        "django_apikeys:organization_detail", args=["00000000-0000-0000-0000-000000000000"]
    )
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("page", ["organization_list", *sorted(ACCESS)])
def test_anonymous_users_are_sent_to_login(client, org, page):
    url = (
        reverse("django_apikeys:organization_list")
        if page == "organization_list"
        else url_for(page, org)
    )
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_renders_with_the_dashboard_look(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"django_apikeys/dashboard.css" in response.content


def test_switcher_lists_only_the_users_organizations(client, org):
    other = OrganizationFactory(name="Somebody Else Inc")
    second = MembershipFactory(user=org.user("Editor"), role=role("Billing"))
    login(client, org.user("Editor"))
    response = client.get(reverse("django_apikeys:organization_list"))
    body = response.content.decode()
    assert org.organization.name in body
    assert second.organization.name in body
    assert other.name not in body
    assert list(response.context["memberships"]) == sorted(
        [org.members["Editor"], second], key=lambda m: m.organization.name
    )


@pytest.mark.parametrize(
    "role_name, visible, hidden",
    [
        ("Owner", ["API keys", "Members", "Audit log", "Usage"], []),
        ("Manager", ["API keys", "Members", "Audit log", "Usage"], []),
        ("Billing", ["API keys", "Usage"], ["Members", "Audit log"]),
        ("Editor", ["API keys"], ["Members", "Audit log", "Usage"]),
    ],
)
def test_navigation_offers_only_allowed_pages(client, org, role_name, visible, hidden):
    login(client, org.user(role_name))
    response = client.get(url_for("organization_detail", org))
    nav = response.content.decode().split('class="container org-nav"')[1].split("</nav>")[0]
    for label in visible:
        assert f">{label}</a>" in nav
    for label in hidden:
        assert f">{label}</a>" not in nav


def test_overview_counts_keys_only_for_key_managers(client, org):
    login(client, org.user("Editor"))
    response = client.get(url_for("organization_detail", org))
    assert "key_count" not in response.context
    assert org.api_key.hint not in response.content.decode()
    login(client, org.user("Owner"))
    response = client.get(url_for("organization_detail", org))
    assert response.context["active_key_count"] == 1


def test_a_role_change_applies_on_the_next_request(client, org):
    login(client, org.user("Manager"))
    assert org.api_key.hint in client.get(url_for("key_list", org)).content.decode()
    Membership.objects.filter(pk=org.members["Manager"].pk).update(role=role("Editor"))
    # An Editor manages only their own keys: the organization's key is gone from view.
    assert org.api_key.hint not in client.get(url_for("key_list", org)).content.decode()
    assert client.get(url_for("key_revoke", org)).status_code == 404


# --- CSRF ------------------------------------------------------------------


@pytest.mark.parametrize("page", POST_PAGES)
def test_csrf_is_enforced_on_every_post(org, page):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.user("Owner"))
    before = (APIKey.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    data = {"name": "x", "scopes": ["*"], "expiry": "never", "grace_period": "0"}
    data.update(user=UserFactory().username, role=role("Billing").pk)
    response = client.post(url_for(page, org), data)
    assert response.status_code == 403
    assert b"CSRF" in response.content
    after = (APIKey.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    assert after == before
    org.api_key.refresh_from_db()
    assert org.api_key.is_usable


def test_csrf_token_makes_the_same_post_work(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.user("Owner"))
    url = url_for("key_revoke", org)
    client.get(url)
    response = client.post(url, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    org.api_key.refresh_from_db()
    assert org.api_key.is_revoked


# --- bad input: form errors, never a 500 -----------------------------------


def create_form(client: Client, org: Org, key_type: str = "server") -> dict[str, Any]:
    response = client.get(url_for("key_create", org) + f"?type={key_type}")
    return {"key_type": key_type, "form_token": response.context["form"]["form_token"].value()}


def test_scope_grid_offers_the_scope_vocabulary(client, org, settings):
    settings.APIKEYS = {
        "SCOPE_VOCABULARY": ["read:clients", "clients:write", "assess"],
        "KEY_TYPES": {
            "server": {"prefix": "sk"},
            "browser": {"prefix": "pk", "publishable": True, "scopes": ["assess"]},
        },
    }
    login(client, org.user("Owner"))
    form = client.get(url_for("key_create", org) + "?type=server").context["form"]
    offered = {value for value, _label in form.fields["scopes"].choices}
    assert {"clients:read", "clients:write", "clients:*", "assess"} <= offered
    browser = client.get(url_for("key_create", org) + "?type=browser").context["form"]
    # "*" on a restricted type is offered as "everything this type may do".
    assert {value for value, _label in browser.fields["scopes"].choices} == {"*", "assess"}


@pytest.mark.parametrize(
    "data, field",
    [
        ({"name": "", "scopes": ["*"], "expiry": "never"}, "name"),
        ({"name": "x" * 101, "scopes": ["*"], "expiry": "never"}, "name"),
        ({"name": "k", "expiry": "never"}, "scopes"),
        ({"name": "k", "scopes": ["nonsense!"], "expiry": "never"}, "scopes"),
        ({"name": "k", "extra_scopes": "Not A Scope!", "expiry": "never"}, "extra_scopes"),
        ({"name": "k", "scopes": ["*"], "expiry": "12"}, "expiry"),
        ({"name": "k", "scopes": ["*"], "expiry": "date"}, "expires_on"),
        (
            {"name": "k", "scopes": ["*"], "expiry": "date", "expires_on": "yesterday"},
            "expires_on",
        ),
        (
            {"name": "k", "scopes": ["*"], "expiry": "date", "expires_on": "2001-01-01"},
            "expires_on",
        ),
    ],
)
def test_bad_create_input_gives_form_errors(client, org, data, field):
    login(client, org.user("Owner"))
    before = APIKey.objects.count()
    response = client.post(
        url_for("key_create", org) + "?type=server", {**create_form(client, org), **data}
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "raw_key" not in response.context
    assert APIKey.objects.count() == before


@pytest.mark.parametrize(
    "limits, field",
    [
        ({"rate_limit_per_minute": "-1"}, "rate_limit_per_minute"),
        ({"rate_limit_per_day": "lots"}, "rate_limit_per_day"),
    ],
)
def test_bad_rate_limits_give_form_errors(client, org, limits, field):
    login(client, org.user("Owner"))
    data = {**create_form(client, org, "publishable"), "name": "web", "scopes": ["*"]}
    data.update(expiry="never", **limits)
    response = client.post(url_for("key_create", org) + "?type=publishable", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not APIKey.objects.filter(name="web").exists()


#: The largest value the rate-limit columns (``PositiveIntegerField``) hold on
#: every database; PostgreSQL's ``integer`` refuses one more.
MAX_DB_INT = 2_147_483_647


@pytest.mark.parametrize("field", ["rate_limit_per_minute", "rate_limit_per_day"])
def test_rate_limits_above_the_column_are_a_form_error_not_a_500(client, org, field):
    login(client, org.user("Owner"))
    data = {**create_form(client, org, "publishable"), "name": "web", "scopes": ["*"]}
    data.update(expiry="never", **{field: str(MAX_DB_INT + 1)})
    response = client.post(url_for("key_create", org) + "?type=publishable", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not APIKey.objects.filter(name="web").exists()


@pytest.mark.parametrize("field", ["rate_limit_per_minute", "rate_limit_per_day"])
def test_the_largest_rate_limit_the_column_holds_is_accepted(client, org, field):
    login(client, org.user("Owner"))
    data = {**create_form(client, org, "publishable"), "name": "web", "scopes": ["*"]}
    data.update(expiry="never", **{field: str(MAX_DB_INT)})
    response = client.post(url_for("key_create", org) + "?type=publishable", data)
    assert response.status_code == 200 and response.context["raw_key"]
    assert getattr(APIKey.objects.get(name="web"), field) == MAX_DB_INT


@pytest.mark.parametrize("day", ["9999-12-31", "9999-01-01"])
def test_an_expiry_date_at_the_end_of_the_calendar_is_a_form_error(client, org, day):
    login(client, org.user("Owner"))
    data = {**create_form(client, org), "name": "far", "scopes": ["*"]}
    data.update(expiry="date", expires_on=day)
    response = client.post(url_for("key_create", org) + "?type=server", data)
    assert response.status_code == 200
    assert "expires_on" in response.context["form"].errors
    assert not APIKey.objects.filter(name="far").exists()


def test_the_last_accepted_expiry_date_works(client, org):
    login(client, org.user("Owner"))
    data = {**create_form(client, org), "name": "far", "scopes": ["*"]}
    data.update(expiry="date", expires_on="9998-12-31")
    response = client.post(url_for("key_create", org) + "?type=server", data)
    assert response.status_code == 200 and response.context["raw_key"]
    assert APIKey.objects.get(name="far").expires_at.year == 9999
    assert client.get(url_for("key_list", org)).status_code == 200


@pytest.mark.parametrize("role_name", ["Owner", "Manager"])
def test_the_create_page_makes_a_fixed_number_of_queries(
    client, org, settings, django_assert_max_num_queries, role_name
):
    """The creator's ceiling is read once per form, not once per grid cell."""
    resources = [f"res{i}" for i in range(12)]
    settings.APIKEYS = {
        "SCOPE_VOCABULARY": [f"{r}:{a}" for r in resources for a in ("read", "write", "list")],
    }
    login(client, org.user(role_name))
    client.get(url_for("key_create", org))  # session and CSRF set up once
    # session, user, membership + role, the creator's ceiling, roles (the grid's
    # vocabulary), and the session save with its savepoint (3): 8, however big the grid.
    with django_assert_max_num_queries(8):
        response = client.get(url_for("key_create", org))
    assert response.status_code == 200
    assert len(response.context["form"].rows) >= len(resources)


# --- allowed origins (publishable keys) -------------------------------------


def post_origins(client: Client, org: Org, origins: str, key_type: str = "publishable") -> Any:
    data = {**create_form(client, org, key_type), "name": "web", "scopes": ["*"]}
    data.update(expiry="never", allowed_origins=origins)
    return client.post(url_for("key_create", org) + f"?type={key_type}", data)


@pytest.mark.parametrize(
    "text, stored",
    [
        ("", []),
        ("  \n\n", []),
        ("https://shop.example", ["https://shop.example"]),
        ("HTTPS://Shop.Example:8443", ["https://shop.example:8443"]),
        (
            "https://shop.example\r\n\r\n  http://localhost:3000  \nhttps://shop.example",
            ["http://localhost:3000", "https://shop.example"],
        ),
        # Browsers leave the default port out of the Origin header.
        (
            "https://shop.example:443\nhttp://shop.example:80",
            ["http://shop.example", "https://shop.example"],
        ),
        ("http://127.0.0.1:8000", ["http://127.0.0.1:8000"]),
        ("https://xn--bcher-kva.example", ["https://xn--bcher-kva.example"]),
    ],
)
def test_allowed_origins_are_normalised_and_stored(client, org, text, stored):
    login(client, org.user("Owner"))
    response = post_origins(client, org, text)
    assert response.status_code == 200 and response.context["raw_key"], response.context[
        "form"
    ].errors
    assert APIKey.objects.get(name="web").allowed_origins == stored


@pytest.mark.parametrize(
    "text",
    [
        "shop.example",
        "https://shop.example/shop",
        "https://shop.example/app",
        "https://shop.example?x=1",
        "https://shop.example#top",
        "ftp://shop.example",
        "javascript://shop.example",
        "https://user:pw@shop.example",
        "https://*.shop.example",
        "https://shop.example:0",
        "https://shop.example:99999",
        "https://shop.example:",
        "https://shop..example",
        "https://-shop.example",
        "https://shop.example.",
        "http://1.2.3",
        "http://10.0.0.256",
        "http://[::g]:8000",
        "https://shop example",
        "https://bücher.example",
        "https://",
        "null",
        "*",
        "https://shop.example https://other.example",
        "https://" + "a" * 64 + ".example",
        "https://ok.example\nhttps://bad.example/path",
        "\n".join(f"https://s{i}.example" for i in range(21)),
        "https://shop.example\n" + " " * 6000,
        "\n".join("x" * 50 for _ in range(100)),
    ],
)
def test_bad_allowed_origins_give_form_errors(client, org, text):
    login(client, org.user("Owner"))
    response = post_origins(client, org, text)
    assert response.status_code == 200
    assert "allowed_origins" in response.context["form"].errors
    assert "raw_key" not in response.context
    assert not APIKey.objects.filter(name="web").exists()


def test_allowed_origins_errors_name_the_bad_lines_and_only_a_few(client, org):
    login(client, org.user("Owner"))
    response = post_origins(client, org, "https://ok.example\nhttps://bad.example/x\nnope")
    errors = response.context["form"].errors["allowed_origins"]
    assert len(errors) == 2
    assert "“https://bad.example/x”" in errors[0] and "“nope”" in errors[1]
    response = post_origins(client, org, "\n".join(f"bad{i}" for i in range(50)))
    assert len(response.context["form"].errors["allowed_origins"]) == 5


def test_twenty_allowed_origins_are_accepted(client, org):
    login(client, org.user("Owner"))
    origins = [f"https://s{i}.example" for i in range(20)]
    response = post_origins(client, org, "\n".join([*origins, origins[0].upper()]))
    assert response.status_code == 200 and response.context["raw_key"]
    assert APIKey.objects.get(name="web").allowed_origins == sorted(origins)


def test_allowed_origins_are_offered_only_for_publishable_types(client, org):
    login(client, org.user("Owner"))
    for key_type, offered in [("publishable", True), ("server", False), ("user", False)]:
        response = client.get(url_for("key_create", org) + f"?type={key_type}")
        assert ("allowed_origins" in response.context["form"].fields) is offered
        assert ('name="allowed_origins"' in response.content.decode()) is offered
    # Posted to another type anyway, the value is ignored, not stored.
    response = post_origins(client, org, "https://shop.example", key_type="server")
    assert response.status_code == 200 and response.context["raw_key"]
    assert APIKey.objects.get(name="web").allowed_origins == []


def test_unknown_key_type_is_404_not_500(client, org):
    login(client, org.user("Owner"))
    assert client.get(url_for("key_create", org) + "?type=nope").status_code == 404


def test_scopes_beyond_the_creators_role_are_refused(client, org):
    """The service's ceiling shows as a form error on the scopes."""
    from django_apikeys.models import Role

    limited = Role.objects.create(
        name="Key clerk", permissions=["organization.manage_api_keys"], scopes=["clients:read"]
    )
    clerk = MembershipFactory(organization=org.organization, role=limited)
    login(client, clerk.user)
    form = client.get(url_for("key_create", org)).context["form"]
    offered = {value for value, _label in form.fields["scopes"].choices}
    assert offered == {"clients:read"}
    assert not form.wildcard_allowed
    data = {**create_form(client, org), "name": "k", "extra_scopes": "invoices:write"}
    response = client.post(url_for("key_create", org), {**data, "expiry": "never"})
    assert "invoices:write" in str(response.context["form"].errors["scopes"])
    assert not APIKey.objects.filter(name="k").exists()
    data = {**create_form(client, org), "name": "k", "scopes": ["clients:read"]}
    response = client.post(url_for("key_create", org), {**data, "expiry": "never"})
    assert response.status_code == 200 and response.context["raw_key"]


def test_scope_grid_wildcard_on_a_restricted_type_means_what_the_type_allows(
    client, org, settings
):
    """Seed 001: "* means full access for that key type" -- on a type that may
    carry only some scopes, "*" stores exactly those, nothing more."""
    settings.APIKEYS = {
        "KEY_TYPES": {
            "server": {"prefix": "sk"},
            "browser": {"prefix": "pk", "publishable": True, "scopes": ["assess", "clients:read"]},
        }
    }
    login(client, org.user("Owner"))
    server = client.get(url_for("key_create", org) + "?type=server").context["form"]
    browser = client.get(url_for("key_create", org) + "?type=browser").context["form"]
    assert server.wildcard_allowed and not server.wildcard_restricted
    assert browser.wildcard_allowed and browser.wildcard_restricted
    offered = {value for value, _label in browser.fields["scopes"].choices}
    assert offered == {"*", "assess", "clients:read"}
    page = client.get(url_for("key_create", org) + "?type=browser").content.decode()
    assert "Everything this key type may do" in page
    for name, field in (("b1", "scopes"), ("b2", "extra_scopes")):
        data = {**create_form(client, org, "browser"), "name": name, field: ["*"]}
        response = client.post(
            url_for("key_create", org) + "?type=browser", {**data, "expiry": "7"}
        )
        assert response.status_code == 200 and response.context["raw_key"]
        assert APIKey.objects.get(name=name).scopes == ["assess", "clients:read"]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"user": "nobody-here", "role": "Editor"}, "user"),
        ({"user": "", "role": "Editor"}, "user"),
        ({"user": "EXISTING", "role": "Editor"}, "user"),
        ({"user": "fresh", "role": ""}, "role"),
        ({"user": "fresh", "role": "999999"}, "role"),
    ],
)
def test_bad_member_input_gives_form_errors(client, org, data, field):
    UserFactory(username="fresh")
    # Adding an account by username is for superusers (others invite by e-mail).
    superuser = org.user("Owner")
    superuser.is_superuser = True
    superuser.save()
    login(client, superuser)
    data = dict(data)
    if data["user"] == "EXISTING":
        data["user"] = org.user("Editor").username
    if data["role"] and data["role"] != "999999":
        data["role"] = role(data["role"]).pk
    before = Membership.objects.count()
    response = client.post(url_for("member_list", org), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Membership.objects.count() == before


@pytest.mark.parametrize("grace", ["", "abc", "-5", "12345"])
def test_bad_grace_period_gives_a_form_error(client, org, grace):
    login(client, org.user("Owner"))
    token = client.get(url_for("key_roll", org)).context["form"]["form_token"].value()
    response = client.post(url_for("key_roll", org), {"form_token": token, "grace_period": grace})
    assert response.status_code == 200
    assert "grace_period" in response.context["form"].errors
    assert not org.api_key.replaced_by.exists()


@pytest.mark.parametrize("role_value", ["", "abc"])
def test_bad_role_change_gives_a_form_error(client, org, role_value):
    login(client, org.user("Owner"))
    response = client.post(url_for("member_change", org), {"role": role_value})
    assert response.status_code == 200
    assert "role" in response.context["form"].errors


@pytest.mark.parametrize(
    "page, query",
    [
        ("key_list", "?status=bogus"),
        ("key_list", "?page=999"),
        ("audit_log", "?action=bogus"),
        ("usage", "?days=abc"),
        ("usage", "?days=100000"),
        ("usage", "?key=not-a-uuid"),
    ],
)
def test_bad_query_parameters_never_500(client, org, page, query):
    login(client, org.user("Owner"))
    response = client.get(url_for(page, org) + query)
    assert response.status_code in (200, 404)


def test_dashboard_posts_are_rate_limited_per_user(client, org):
    from django_apikeys.dashboard.mixins import DASHBOARD_POST_RATE

    limit = int(DASHBOARD_POST_RATE.split("/")[0])
    login(client, org.user("Owner"))
    url = url_for("member_change", org)
    statuses = [client.post(url, {"role": ""}).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit
    assert statuses[-1] == 429
    # Another user has their own budget.
    login(client, org.user("Manager"))
    assert client.post(url, {"role": ""}).status_code == 200


def test_templates_can_be_overridden_by_the_site(client, org, site_template):
    site_template(
        "key_list.html",
        '{% extends "django_apikeys/base.html" %}'
        "{% block content %}SITE KEYS {{ api_keys|length }}{% endblock %}",
    )
    login(client, org.user("Owner"))
    response = client.get(url_for("key_list", org))
    assert "SITE KEYS 1" in response.content.decode()


def test_a_site_base_template_can_extend_the_apps_own(client, org, site_template):
    """The recipe in docs/templates.rst: override base.html by extending it."""
    site_template(
        "base.html",
        '{% extends "django_apikeys/base.html" %}'
        '{% block branding %}<a class="brand" href="/">ACME console</a>{% endblock %}',
    )
    login(client, org.user("Owner"))
    body = client.get(url_for("key_list", org)).content.decode()
    assert "ACME console" in body and "API keys dashboard" not in body
    assert org.api_key.hint in body


@pytest.mark.parametrize(
    "role_name, permission, expected",
    [
        ("Owner", "organization.manage_api_keys", True),
        ("Editor", "organization.manage_api_keys", False),
        ("Billing", "organization.manage_billing", True),
        ("Owner", "not.a.permission", False),
    ],
)
def test_apikeys_has_perm_tag(rf, org, role_name, permission, expected):
    from django.template import Context, Template

    request = rf.get("/")
    request.user = org.user(role_name)
    template = Template("{% load apikeys %}{% apikeys_has_perm organization perm as ok %}{{ ok }}")
    rendered = template.render(
        Context({"request": request, "organization": org.organization, "perm": permission})
    )
    assert rendered == str(expected)


def test_add_member_form_offers_the_default_role_first(client, org, settings):
    login(client, org.user("Owner"))
    form = client.get(url_for("member_list", org)).context["form"]
    assert form.fields["role"].initial == role("Editor").pk
    settings.APIKEYS = {"DEFAULT_ROLE": "Billing"}
    form = client.get(url_for("member_list", org)).context["form"]
    assert form.fields["role"].initial == role("Billing").pk
