"""The usage pages: outcomes per hour or day for the organization or one key.

``/<org>/usage/`` shows the organization (or one key with ``?key=<id>``),
``/<org>/keys/<key>/usage/`` one key's history; both take ``?period=``
(``24h``, ``7d``, ``30d`` — the default — or ``90d``; anything else is the
default) and ``?export=csv`` (the table on the page as a CSV attachment).
Numbers come from :mod:`django_apikeys.analytics`; the stacked chart is SVG
drawn here, on the server, with no JavaScript.
"""

from __future__ import annotations

import csv
import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import formats
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from .. import analytics, throttling
from ..abstract import MANAGE_API_KEYS, MANAGE_BILLING
from ..exceptions import refusal_family
from ..models import APIKey
from .mixins import RolePermissionMixin

#: Height of the plot area of the chart, in CSS pixels (labels sit outside it).
PLOT_HEIGHT = 200
PLOT_TOP = 28
X_LABELS = 6
#: Percent of the chart's width left of the bars for the y-axis labels.
GUTTER = 5.0


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1): the chart's top."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


@dataclass
class Segment:
    family: str
    label: Any
    count: int
    y: float
    height: float


@dataclass
class Bar:
    label: str
    x: float  # percent of the chart's width
    width: float
    segments: list[Segment]
    total: int
    show_label: bool
    center: float = 0.0
    anchor: str = "middle"


def _bucket_label(start: Any, hourly: bool) -> str:
    if hourly:
        return f"{start:%H}:00"
    return str(formats.date_format(start, "M j"))


def chart(buckets: list[analytics.Bucket], hourly: bool) -> dict[str, Any]:
    """The geometry of the stacked bar chart: bars in percent of the width
    (so it fills any width), heights in pixels, gridlines with their values."""
    top = nice_ceiling(max((bucket.total for bucket in buckets), default=0))
    slot = (100 - GUTTER) / max(len(buckets), 1)
    every = max(1, -(-len(buckets) // X_LABELS))
    bars = []
    for n, bucket in enumerate(buckets):
        y = float(PLOT_TOP + PLOT_HEIGHT)
        segments = []
        counts = bucket.families
        for family, label in analytics.FAMILIES:
            count = counts[family]
            if not count:
                continue
            height = PLOT_HEIGHT * count / top
            y -= height
            segments.append(Segment(family, label, count, round(y, 2), round(height, 2)))
        bars.append(
            Bar(
                label=_bucket_label(bucket.start, hourly),
                x=round(GUTTER + n * slot + slot * 0.12, 3),
                width=round(slot * 0.76, 3),
                segments=segments,
                total=bucket.total,
                show_label=(len(buckets) - 1 - n) % every == 0,
                center=round(GUTTER + n * slot + slot / 2, 3),
                anchor="end" if n == len(buckets) - 1 else "start" if n == 0 else "middle",
            )
        )
    grid = [
        {
            "value": value,
            "y": PLOT_TOP + PLOT_HEIGHT - PLOT_HEIGHT * value / top,
        }
        for value in (0, top // 2, top)
        if value or top
    ]
    return {
        "bars": bars,
        "grid": grid,
        "height": PLOT_TOP + PLOT_HEIGHT + 32,
        "baseline": PLOT_TOP + PLOT_HEIGHT,
        "label_y": PLOT_TOP + PLOT_HEIGHT + 22,
        "empty": not any(bucket.total for bucket in buckets),
        "gutter": GUTTER,
    }


class UsageMixin(RolePermissionMixin):
    """The period, the numbers and the CSV export shared by both usage pages."""

    required_permission = MANAGE_BILLING
    request: Any

    def get_period(self) -> analytics.Period:
        name = self.request.GET.get("period")
        if name is None:  # links from before the periods: ?days=7|30|90
            name = f"{self.request.GET.get('days')}d"
        return analytics.PERIODS.get(name, analytics.PERIODS[analytics.DEFAULT_PERIOD])

    def get_api_key(self) -> APIKey | None:
        return None

    def usage_context(self) -> dict[str, Any]:
        period = self.get_period()
        api_key = self.get_api_key()
        buckets = analytics.outcome_series(self.organization, period, api_key)
        codes: dict[str, int] = {}
        for bucket in buckets:
            for code, count in bucket.refusals.items():
                codes[code] = codes.get(code, 0) + count
        labels = dict(analytics.FAMILIES)
        rows = [(bucket, bucket.families) for bucket in buckets]
        return {
            "period": period,
            "periods": analytics.PERIODS.values(),
            "selected_key": api_key,
            "buckets": buckets,
            "rows": [
                {
                    "bucket": bucket,
                    "label": _row_label(bucket.start, period.hourly),
                    "counts": [families[name] for name, _label in analytics.FAMILIES],
                    "cells": [(label, families[name]) for name, label in analytics.FAMILIES],
                    "total": bucket.total,
                }
                for bucket, families in rows
            ],
            "families": analytics.FAMILIES,
            "totals": [
                (label, sum(families[name] for _bucket, families in rows))
                for name, label in analytics.FAMILIES
            ],
            "total": sum(bucket.total for bucket in buckets),
            "refused": sum(bucket.refused for bucket in buckets),
            "codes": sorted(
                (
                    (code, labels.get(analytics.family_of(code)), count, refusal_family(code))
                    for code, count in codes.items()
                ),
                key=lambda item: -item[2],
            ),
            "chart": chart(buckets, period.hourly),
            "monthly": throttling.monthly_usage(self.organization, api_key),
        }

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        if self.request.GET.get("export") == "csv":
            return self.csv_response(context)
        return super().render_to_response(context, **kwargs)  # type: ignore[misc]

    def csv_response(self, context: dict[str, Any]) -> HttpResponse:
        """The page's table as CSV: same period, scope, columns and numbers."""
        api_key = context["selected_key"]
        scope = f"key-{api_key.name}" if api_key else self.organization.slug
        filename = f"usage-{slugify(scope) or 'key'}-{context['period'].name}.csv"
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        writer = csv.writer(response)
        writer.writerow(
            [_("Hour (UTC)") if context["period"].hourly else _("Day (UTC)")]
            + [label for _name, label in context["families"]]
            + [_("Total")]
        )
        for row in context["rows"]:
            start = row["bucket"].start
            stamp = start.isoformat() if isinstance(start, datetime.datetime) else str(start)
            writer.writerow([stamp, *row["counts"], row["total"]])
        return response


def _row_label(start: Any, hourly: bool) -> str:
    if hourly:
        return str(formats.date_format(start, "M j, H:00"))
    return str(formats.date_format(start, "D, M j"))


class UsageView(UsageMixin, TemplateView):
    """The organization's usage, or one key's (``?key=<id>``, for roles that
    may manage keys: another organization's key, or any other value, is a
    404; for other roles the parameter is ignored)."""

    template_name = "django_apikeys/usage.html"

    def get_api_key(self) -> APIKey | None:
        key_id = self.request.GET.get("key")
        if not key_id:
            return None
        if not self.has_org_perm(MANAGE_API_KEYS):
            return None  # keys are not shown to this role: the organization's usage
        try:
            pk = uuid.UUID(key_id)
        except ValueError:
            raise Http404(_("No such API key in this organization.")) from None
        return get_object_or_404(APIKey, pk=pk, organization=self.organization)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.usage_context())
        can_see_keys = self.has_org_perm(MANAGE_API_KEYS)
        context["keys"] = (
            APIKey.objects.filter(organization=self.organization).only(
                "id", "name", "hint", "organization_id"
            )
            if can_see_keys
            else []
        )
        context["top_keys"] = (
            analytics.top_keys(self.organization, context["period"]) if can_see_keys else []
        )
        selected = context["selected_key"]
        context["title"] = (
            _("Requests by outcome: %(key)s") % {"key": selected}
            if selected
            else _("Requests by outcome: %(org)s") % {"org": self.organization}
        )
        return context


class KeyUsageView(UsageMixin, TemplateView):
    """One key's history (reached from the key list): its outcomes and refusal codes."""

    template_name = "django_apikeys/key_usage.html"
    api_key: APIKey

    def check_organization_permission(self) -> None:
        super().check_organization_permission()
        if not self.has_org_perm(MANAGE_API_KEYS):
            raise PermissionDenied(_("Your role in this organization does not allow this page."))
        self.api_key = get_object_or_404(
            APIKey, pk=self.kwargs["key_id"], organization=self.organization
        )

    def get_api_key(self) -> APIKey | None:
        return self.api_key

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.usage_context())
        context["api_key"] = self.api_key
        context["title"] = _("Requests by outcome: %(key)s") % {"key": self.api_key}
        return context
