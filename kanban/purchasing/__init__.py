"""Supplier requests: reading them (``requests``), reviewing drafts and receiving on the
request page (``review``), sending by email or marking sent (``sending``), the documents
(``documents``), SMTP (``mail``), suppliers and lead times (``suppliers``) and automatic
sending, which listens to ``card_changed`` (``autosend``)."""
