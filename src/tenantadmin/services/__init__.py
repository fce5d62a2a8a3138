"""What an operator can do, one module per area. Services return plain data and raise ``errors``; they never print."""
