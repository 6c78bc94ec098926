"""Users, device tokens and login limits. Entry module: ``users``."""
