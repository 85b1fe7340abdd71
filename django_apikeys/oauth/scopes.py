"""django-oauth-toolkit scopes backend: the app's registered scopes."""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes


class _Descriptions(dict):  # type: ignore[type-arg]
    def __missing__(self, scope: str) -> str:
        from .services import describe_scope

        try:
            from django_apikeys.scopes import normalize_scope

            return describe_scope(normalize_scope(scope))
        except Exception:
            return scope


class OrganizationScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        from .services import describe_scope, vocabulary

        return _Descriptions({scope: describe_scope(scope) for scope in vocabulary()})

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        from .validators import app_scopes

        return app_scopes(application) if application is not None else []

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)
