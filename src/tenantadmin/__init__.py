"""tenantadmin: administer a multi-tenant platform from the terminal."""

from importlib.metadata import version as _version

__version__ = _version("tenantadmin")
