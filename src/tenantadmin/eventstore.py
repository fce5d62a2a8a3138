"""The public API of tenantadmin's DCB event store; the implementation lives in ``tenantadmin.store.eventstore``."""

from tenantadmin.store.eventstore import *  # noqa: F403 (the same API, under its public name)
from tenantadmin.store.eventstore import __all__  # noqa: F401
