"""Every status, kind and mode the product stores or sends, defined once.

Models, packages, views, templates (through the ``vocabulary`` context) and
JavaScript (through the page's vocabulary block, see ``kanban.web.vocab``) all
take their values from here; no other module spells them. The card states live
beside their transition table in :mod:`kanban.domain.cards`.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """Where a supplier request is in its life."""

    DRAFT = "draft"
    SENT = "sent"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    """Where one line of a supplier request is."""

    OPEN = "open"
    RECEIVED = "received"
    WITHDRAWN = "withdrawn"  # stock came back before the request was sent
    CANCELLED = "cancelled"  # a supervisor removed it from the draft: hold the card


#: Lines that count in a request's totals (withdrawn and removed ones do not).
ACTIVE_LINES = (LineStatus.OPEN, LineStatus.RECEIVED)


class MovementKind(StrEnum):
    """What one row of the stock ledger records."""

    PULL = "pull"
    RECEIPT = "receipt"
    COUNT = "count"
    UNDO = "undo"
    INITIAL = "initial"  # opening (or corrected) stock of a bin set up or imported


class Mode(StrEnum):
    """What a scan does (docs/manual/spec.md §3.1)."""

    PULL = "pull"
    RECEIVE = "receive"
    COUNT = "count"


#: The ledger kind a scan of each mode writes, and back.
KIND_FOR_MODE = {
    Mode.PULL: MovementKind.PULL,
    Mode.RECEIVE: MovementKind.RECEIPT,
    Mode.COUNT: MovementKind.COUNT,
}


class Source(StrEnum):
    """How a movement reached the server."""

    USB = "usb"
    CAMERA = "camera"
    PHOTO = "photo"
    API = "api"
    FORM = "form"
    IMPORT = "import"
    CLI = "cli"
    DEMO = "demo"


class EventKind(StrEnum):
    """What one entry of the change feed is about."""

    BIN_CHANGED = "bin.changed"
    REQUEST_CHANGED = "request.changed"


class Role(StrEnum):
    """What a user or a device token may do."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DISPLAY = "display"  # tokens only: read-only wall screens


#: Roles a person can have; tokens may also be display tokens.
USER_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN)
TOKEN_ROLES = (*USER_ROLES, Role.DISPLAY)


class SentVia(StrEnum):
    """How a request reached its supplier (or that an email is on its way)."""

    EMAIL = "email"
    MANUAL = "manual"
    SENDING = "sending"  # a claim: the email is being sent right now
    #: The claim after the message's last line was handed to the mail server: it
    #: may have been accepted even if no answer came back (docs/manual/decisions/requests.md).
    HANDED_OVER = "handed_over"


#: ``sent_via`` of a draft that an email is on its way for (a claim).
CLAIMS = (SentVia.SENDING, SentVia.HANDED_OVER)


class ChangeCause(StrEnum):
    """Why a card changed, as its ``bin.changed`` event tells it."""

    PULL = "pull"
    RECEIPT = "receipt"
    COUNT = "count"
    UNDO = "undo"
    INITIAL = "initial"
    CARD_QUANTITY = "card_quantity"
    IMPORT = "import"
    RETIRED = "retired"
    BROUGHT_BACK = "brought_back"
    SENT = "sent"
    REMOVED = "removed"
    DEMO = "demo"
    EDITED = "edited"  # a supervisor edited the bin, its item, zone or supplier


class AuditObject(StrEnum):
    """What kind of record an audit entry is about."""

    SUPPLIER = "supplier"
    ITEM = "item"
    ZONE = "zone"
    BIN = "bin"
    USER = "user"
    TOKEN = "token"  # noqa: S105 (the kind of record, not a secret)
    IMPORT = "import"  # one bins spreadsheet import, with the rows it changed


class AuditAction(StrEnum):
    """What an audit entry records was done to its record."""

    CREATED = "created"
    EDITED = "edited"  # fields changed: before and after name them
    DEACTIVATED = "deactivated"  # a retired bin, a switched-off user or supplier
    REACTIVATED = "reactivated"
    PASSWORD_SET = "password_set"  # noqa: S105 (an action; never the password or its hash)
    REVOKED = "revoked"
    IMPORTED = "imported"


class DeliveryKind(StrEnum):
    """What one row of the outbox delivers."""

    EMAIL = "email"  # a supplier's draft, emailed automatically
    WEBHOOK = "webhook"  # one event to one webhook endpoint


class DeliveryStatus(StrEnum):
    """Where one delivery of the outbox is."""

    PENDING = "pending"  # waiting until it is due (a first try, a retry or a batch window)
    SENDING = "sending"  # a worker claimed it and is delivering it now
    DELIVERED = "delivered"
    FAILED = "failed"  # given up (after the last retry, or a cause only a person can fix)
    SKIPPED = "skipped"  # nothing left to deliver (the draft was sent or emptied meanwhile)


#: Deliveries a worker may still act on.
OPEN_DELIVERIES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class WebhookEvent(StrEnum):
    """What a webhook endpoint can subscribe to (docs/manual/integrators.md "Webhooks")."""

    CARD_STATE_CHANGED = "card.state_changed"
    REQUEST_SENT = "request.sent"
    REQUEST_RECEIVED = "request.received"
    BIN_CHANGED = "bin.changed"


class NoticeKind(StrEnum):
    """What supervisors are told about on the notices page."""

    AUTO_SEND_STOPPED = "auto_send_stopped"  # the daily cap switched automatic sending off
    AUTO_SEND_FAILED = "auto_send_failed"  # an automatic email was given up
    OVER_RECEIPT = "over_receipt"  # an operator confirmed receiving more than was open


class CommandAction(StrEnum):
    """What a command barcode does (docs/manual/spec.md §3.4)."""

    MODE = "mode"
    QUANTITY = "quantity"
    UNDO = "undo"
    CONFIRM = "confirm"  # answer yes to the scan page's question (book it anyway)
    CANCEL = "cancel"  # answer no: the scan is not booked


class QuantityLimit(StrEnum):
    """A limit of a bin's normal range that an unusual scanned quantity passes
    (:mod:`kanban.domain.quantities`; the 409's details list them)."""

    ON_HAND = "on_hand"  # the pull takes the bin below zero
    ORDER_QUANTITY = "order_quantity"  # more than one whole delivery
    USUAL_PULL = "usual_pull"  # more than N × the bin's pull quantity
    FULL_BIN = "full_bin"  # a count above N × the most the bin holds


#: How the card's reason line says what a ledger kind did ("3 on hand … · pulled by ana").
VERBS: dict[str, str] = {
    MovementKind.PULL: "pulled",
    MovementKind.RECEIPT: "received",
    MovementKind.COUNT: "counted",
    MovementKind.UNDO: "undone",
    MovementKind.INITIAL: "set up",
}
