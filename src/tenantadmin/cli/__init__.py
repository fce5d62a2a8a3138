"""The headless command line. It must never import textual: scripts pay for what they use."""
