"""The dashboard: server-rendered pages where members manage keys and members.

``views`` (thin class-based views), ``forms`` (input, showing the services'
errors), ``mixins`` (who may see a page) and ``urls``. Sites include it with
``path("apikeys/", include("django_apikeys.urls"))``.
"""
