"""Blueprints: URL maps and thin views. A view reads its input, calls one package
operation, commits once and renders or redirects; no business rule lives here."""
