"""``manage.py apikeypatterns [--json]``: each key type's regex for secret scanners."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_apikeys.conf import apikeys_settings
from django_apikeys.keys import key_pattern


def patterns() -> list[dict[str, Any]]:
    """One entry per configured key type: name, label and its
    :class:`~django_apikeys.keys.KeyPattern` fields."""
    conf = apikeys_settings
    prefixes = [kt.prefix for kt in conf.key_types.values()]
    result = []
    for kt in conf.key_types.values():
        others = [p for p in prefixes if p != kt.prefix]
        pattern = key_pattern(kt.prefix, conf.SEPARATOR, conf.BODY_LENGTH, others)
        result.append({"key_type": kt.name, "label": kt.label, **pattern._asdict()})
    return result


class Command(BaseCommand):
    help = (
        "Print, for each configured key type, a regular expression that finds its keys "
        "(prefix, body, checksum) and a sample key, for GitHub secret scanning or a "
        "pre-commit / CI secret scanner."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="Print a JSON list instead of plain text."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        entries = patterns()
        if options["json"]:
            self.stdout.write(json.dumps(entries, indent=2))
            return
        for entry in entries:
            self.stdout.write(f"{entry['key_type']} ({entry['label']}, prefix {entry['prefix']})")
            self.stdout.write(f"  regex:        {entry['regex']}")
            self.stdout.write(f"  regex (RE2):  {entry['regex_re2']}   (the key is group 1)")
            self.stdout.write(f"  secret:       {entry['secret']}")
            self.stdout.write(f"  before:       {entry['before']}")
            self.stdout.write(f"  after:        {entry['after']}")
            self.stdout.write(f"  sample:       {entry['sample']}")
            self.stdout.write("")
