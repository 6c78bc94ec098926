"""Webhooks (issue 16): endpoints that hear about card and request changes.

Admins add endpoints (``endpoints``: a URL, the events wanted, a secret shown
once). A listener of the card flow and of requests sent and received writes one
outbox delivery per subscribed endpoint in the transaction of the change
(``events``); the outbox worker posts it, signed (``signing``), with short
timeouts and no redirects (``delivery``).
"""
