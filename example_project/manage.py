#!/usr/bin/env python
"""Example project. Pick a settings profile with DJANGO_SETTINGS_MODULE, e.g.
``example.profiles.org_header_test_tier`` (default: ``example.settings``)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
