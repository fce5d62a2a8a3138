"""The public API of tenantadmin's DCB event store; the implementation lives in ``tenantadmin.store.eventstore``."""

from tenantadmin.store.eventstore import *
from tenantadmin.store.eventstore import __all__  # noqa: F401
