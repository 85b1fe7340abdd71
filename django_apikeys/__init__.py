"""Organizations, roles and typed, checksummed API keys for Django REST framework."""

__version__ = "0.1.0.dev0"
