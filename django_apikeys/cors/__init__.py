"""Optional CORS integration for browser keys, on django-cors-headers.

Add ``"corsheaders"`` and ``"django_apikeys.cors"`` to ``INSTALLED_APPS``
(and django-cors-headers' middleware, docs/cors.rst): a cross-origin request
to a route that accepts publishable keys is then CORS-enabled for every
origin that some active publishable key lists in ``allowed_origins``. The
request itself is still authenticated and checked against *its* key's
``allowed_origins`` by :class:`~django_apikeys.authentication.APIKeyAuthentication`.
"""
