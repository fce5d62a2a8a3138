"""Modals and widgets shared by the screens."""
