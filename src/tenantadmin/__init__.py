"""tenantadmin: administer a multi-tenant platform from the terminal."""

# The one place the version is written (pyproject.toml reads it from here): asking importlib.metadata at run time
# costs every command some 30 ms.
__version__ = "0.1.0"
