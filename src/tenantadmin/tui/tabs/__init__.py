"""The tabs of an organization's screen: each a widget with what it shows, its own actions and their keys."""
