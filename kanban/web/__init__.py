"""Blueprints: URL maps and thin views."""
