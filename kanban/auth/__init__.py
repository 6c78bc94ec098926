"""Users, device tokens and logging in: ``users`` (users, roles, passwords, tokens) and
``logins`` (the limit on failed logins, known devices)."""
