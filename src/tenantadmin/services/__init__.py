"""What an operator can do, one module per area. Services return plain data and raise ``tenantadmin.errors``; they
never print."""
