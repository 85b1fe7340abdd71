"""The management API: organizations, keys, members, usage and audit over REST.

Optional: add ``path("api/manage/", include("django_apikeys.api.urls"))``.
The core never imports this package. See ``docs/management-api.rst``.
"""
