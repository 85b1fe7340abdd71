"""Benchmark data: one credential per contender, filler rows, and the bulk key loader.

Every contender's table holds ``FILLER`` rows so no lookup hits a one-row
table. Keys for the scale test are real-format keys (prefix, 32-character
body, CRC-32 checksum) stored as their real SHA-256, written with
PostgreSQL ``COPY`` so a million of them load in seconds.
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

FILLER = 1_000


@dataclass
class Credentials:
    """The raw secrets each contender sends (``Authorization`` header values)."""

    drf_token: str
    drf_api_key: str
    knox: str
    apikeys_server: str
    apikeys_user: str
    apikeys_publishable: str
    filler_keys: list[str]  # a sample of the stored server keys, for the scale test
    oauth_jwt: str = ""  # a django_apikeys.oauth access token (JWT)
    dot_token: str = ""  # a django-oauth-toolkit opaque access token
    bad_jwts: tuple[str, ...] = ()  # malformed or badly signed JWTs
    apikeys_member: str = ""  # a member-scoped user key; "" where the package has none
    home_organization: str = ""  # its organization (UUID)
    second_organization: str = ""  # another organization its owner belongs to (UUID)


def create_fixtures() -> Credentials:
    from knox.models import AuthToken
    from rest_framework.authtoken.models import Token
    from rest_framework_api_key.models import APIKey as DRFAPIKey

    from django_apikeys import services
    from django_apikeys.models import Membership, Organization, Plan, Role

    User = get_user_model()  # noqa: N806
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"bench{i}", email=f"bench{i}@example.com") for i in range(FILLER)]
        )
        users = list(User.objects.order_by("pk"))
        Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
        for u in users:
            AuthToken.objects.create(user=u)
        for i in range(FILLER):
            DRFAPIKey.objects.create_key(name=f"filler {i}")
        # Per-organization limits that never trip: (g) counts them.
        plan = Plan.objects.create(
            name="Bench",
            entitlements=["*"],
            rate_limit_per_minute=1_000_000_000,
            rate_limit_per_day=1_000_000_000,
            rate_limit_per_month=1_000_000_000,
        )
        organization = Organization.objects.create(name="Bench", slug="bench", plan=plan)
        owner = users[0]
        Membership.objects.create(
            user=owner, organization=organization, role=Role.objects.get(name="Owner")
        )
        # A second organization the owner belongs to, where the member-scoped
        # key acts too (e‴b); same plan, same role.
        second = Organization.objects.create(name="Bench 2", slug="bench-2", plan=plan)
        Membership.objects.create(
            user=owner, organization=second, role=Role.objects.get(name="Owner")
        )
        filler_keys = bulk_load_keys(organization.pk, FILLER - 2, keep_every=5)

        _, drf_api_key = DRFAPIKey.objects.create_key(name="bench")
        _, knox = AuthToken.objects.create(user=owner)
        _, server = services.create_key(
            organization=organization, key_type="server", name="b", scopes=["*"]
        )
        _, publishable = services.create_key(
            organization=organization, key_type="publishable", name="p"
        )
        _, user_key = services.create_key(
            organization=organization, key_type="user", name="u", user=owner, scopes=["*"]
        )
        member_key = ""
        if settings.MEMBER_KEYS:
            _, member_key = services.create_key(
                organization=organization, key_type="member", name="m", user=owner, scopes=["*"]
            )
    oauth_jwt, dot_token, bad_jwts = oauth_fixtures(owner, organization)
    return Credentials(
        oauth_jwt=oauth_jwt,
        dot_token=dot_token,
        bad_jwts=bad_jwts,
        drf_token=Token.objects.get(user=owner).key,
        drf_api_key=drf_api_key,
        knox=knox,
        apikeys_server=server,
        apikeys_user=user_key,
        apikeys_publishable=publishable,
        apikeys_member=member_key,
        home_organization=str(organization.pk),
        second_organization=str(second.pk),
        filler_keys=filler_keys,
    )


# --- real-format keys in bulk ----------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def fake_keys(count: int, seed: int, prefix: str = "sk") -> Iterator[tuple[str, str, str]]:
    """Yield ``(raw_key, sha256_hex, hint)`` for ``count`` real-format keys.

    A seeded PRNG instead of :mod:`secrets` only for speed: the keys are
    benchmark data, and their format, checksum and hash are the real ones.
    """
    rng = random.Random(seed)
    choices = rng.choices
    for _ in range(count):
        body = "".join(choices(_ALPHABET, k=32))
        check = format(zlib.crc32(body.encode()) & 0xFFFFFFFF, "08x")
        raw = f"{prefix}_{body}_{check}"
        yield raw, sha256(raw.encode()).hexdigest(), f"{prefix}_{body[:4]}…{check[-4:]}"


def bulk_load_keys(
    organization_id: Any, count: int, seed: int = 0, keep_every: int = 0
) -> list[str]:
    """Insert ``count`` server keys for the organization; return every ``keep_every``-th raw key.

    PostgreSQL: ``COPY``; other databases: ``bulk_create`` in batches.
    """
    from django_apikeys.models import APIKey

    kept: list[str] = []
    now = timezone.now()
    rng = random.Random(seed + 1)

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, (raw, digest, hint) in enumerate(fake_keys(count, seed)):
            if keep_every and i % keep_every == 0:
                kept.append(raw)
            yield uuid.UUID(int=rng.getrandbits(128), version=4), digest, hint, f"key {i}"

    if connection.vendor == "postgresql":
        table = APIKey._meta.db_table
        # Every column, with the model's own defaults: fields added later need
        # no change here.
        template = APIKey(
            organization_id=organization_id, key_type="server", scopes=["*"], created_at=now
        )
        fields = list(APIKey._meta.concrete_fields)
        varying = {"id", "hashed_key", "hint", "name"}
        fixed = {
            f.attname: f.get_db_prep_save(getattr(template, f.attname), connection)
            for f in fields
            if f.attname not in varying
        }
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for pk, digest, hint, name in rows():
                    values = {**fixed, "id": pk, "hashed_key": digest, "hint": hint, "name": name}
                    copy.write_row(tuple(values[f.attname] for f in fields))
            cursor.execute(f"ANALYZE {table}")
    else:
        batch: list[APIKey] = []
        for pk, digest, hint, name in rows():
            batch.append(
                APIKey(
                    id=pk,
                    organization_id=organization_id,
                    key_type="server",
                    name=name,
                    hint=hint,
                    hashed_key=digest,
                    scopes=["*"],
                    created_at=now,
                )
            )
            if len(batch) == 10_000:
                APIKey.objects.bulk_create(batch)
                batch = []
        APIKey.objects.bulk_create(batch)
    return kept


def oauth_fixtures(owner: Any, organization: Any) -> tuple[str, str, tuple[str, ...]]:
    """An authorization with its JWT, ``FILLER`` other authorizations and DOT
    access tokens, and a list of malformed / badly signed JWTs."""
    import datetime
    import secrets
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from oauth2_provider.models import AccessToken, set_token_value

    from django_apikeys.oauth import services as oauth_services
    from django_apikeys.oauth import tokens
    from django_apikeys.oauth.models import OAuthGrant

    app, _ = oauth_services.register_app(
        organization=organization,
        name="bench",
        redirect_uris=["https://bench.example/cb"],
        scopes=["*"],
        confidential=True,
    )
    application = app.application
    OAuthGrant.objects.bulk_create(
        [
            OAuthGrant(
                application=application, user=owner, organization=organization, scopes=["*"]
            )
            for _ in range(FILLER)
        ]
    )
    grant = OAuthGrant.objects.create(
        application=application, user=owner, organization=organization, scopes=["*"]
    )
    now = int(time.time())
    claims = {
        "iss": "http://bench",
        "sub": str(owner.pk),
        "aud": "http://bench",
        "client_id": application.client_id,
        "iat": now,
        "exp": now + 6 * 3600,  # outlives the run
        "jti": uuid.uuid4().hex,
        "scope": "*",
        "org": str(organization.pk),
        "grant": str(grant.pk),
    }
    jwt_token = tokens.sign(claims)
    expires = timezone.now() + datetime.timedelta(hours=6)
    dot_tokens = []
    for i in range(FILLER + 1):
        raw = secrets.token_urlsafe(30)
        token = AccessToken(user=owner, application=application, expires=expires, scope="read")
        set_token_value(token, raw)
        dot_tokens.append(token)
        if i == FILLER:
            dot_token = raw
    AccessToken.objects.bulk_create(dot_tokens)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rng = random.Random(11)
    bad: list[str] = []
    for i in range(100):
        if i % 2:  # well-formed, signed by another key (same kid)
            bad.append(
                jwt.encode({**claims, "jti": uuid.uuid4().hex}, other, "RS256", {"kid": "bench"})
            )
        else:  # malformed: truncated, altered, not base64
            head, body, sig = jwt_token.split(".")
            bad.append(
                rng.choice(
                    [f"{head}.{body}", f"{head}.{body[:-5]}.{sig}", f"{head}.!!.{sig}", "eyJ.a.b"]
                )
            )
    return jwt_token, dot_token, tuple(bad)
