"""The Textual TUI. Only `tenantadmin` (bare) and `tenantadmin tui` import this package: scripts never pay for it."""
