"""Settings: defaults here, overridden by ``KANBAN_*`` environment variables.

This is the only module that reads the environment. Every setting is listed in
``SETTINGS`` with its documentation so the manual (docs/manual/admins.md) can be checked against it.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import secrets
from pathlib import Path
from typing import Any

from .domain import clock, passwords
from .domain.quantities import DEFAULT_FACTOR, FACTOR_MAX, FACTOR_MIN

#: name -> (default, help). Defaults of None are computed at start-up.
SETTINGS: dict[str, tuple[Any, str]] = {
    "KANBAN_DATABASE_URL": (
        None,
        "SQLAlchemy URL of the database. Default: SQLite file kanban.db in the instance folder.",
    ),
    "KANBAN_SECRET_KEY": (
        None,
        "Secret for sessions and CSRF tokens. Default: generated once and kept in the "
        "instance folder.",
    ),
    "KANBAN_INSTANCE_PATH": (None, "Folder for the SQLite database, secret key and backups."),
    "KANBAN_SMTP_URL": (
        "",
        "SMTP server for sending supplier requests, e.g. smtp+starttls://user:pass@host:587.",
    ),
    "KANBAN_MAIL_FROM": ("kanban@localhost", "Sender address of supplier request emails."),
    "KANBAN_COMPANY_NAME": ("", "Company name on supplier requests (PDF and email)."),
    "KANBAN_DELIVERY_ADDRESS": (
        "",
        "Delivery address on supplier requests; lines separated by ; or new lines.",
    ),
    "KANBAN_BUYER_NAME": ("", "The buyer suppliers contact (default: who sends the request)."),
    "KANBAN_BUYER_EMAIL": (
        "",
        "The buyer's email: on the request and the email's Reply-To (default: KANBAN_MAIL_FROM).",
    ),
    "KANBAN_BUYER_PHONE": ("", "The buyer's phone number on supplier requests."),
    "KANBAN_TERMS": ("", "Terms printed on every supplier request (payment, delivery times…)."),
    "KANBAN_LABELS_DIR": ("labels", "Folder where `kanban labels` writes label files."),
    "KANBAN_SECURE_COOKIES": (
        "0",
        "1 to mark session cookies Secure (set it when the site is served over HTTPS).",
    ),
    "KANBAN_SCAN_UNDO_MINUTES": ("30", "How long an operator may undo their own scan."),
    "KANBAN_UNUSUAL_FACTOR": (
        str(DEFAULT_FACTOR),
        "A pull above this many times the bin's pull quantity (or a count above this many "
        f"times what the bin holds) asks for a confirmation ({FACTOR_MIN}-{FACTOR_MAX}).",
    ),
    "KANBAN_LOGIN_ATTEMPTS": (
        "10",
        "Failed logins allowed per username and address per 15 min (×3 per address, ×5 per "
        "username from unknown devices).",
    ),
    "KANBAN_ACCESS_LOG": ("", "gunicorn access log file (- for standard output)."),
    "KANBAN_TRUSTED_PROXIES": (
        "",
        "Reverse proxies whose X-Forwarded-For/-Proto/-Host are believed: addresses or "
        "networks, comma-separated (e.g. 127.0.0.1 or 10.0.0.0/24). Empty: none.",
    ),
    "KANBAN_DEMAND_DAYS": ("28", "Days of pulls the card-size recommendation averages (7-365)."),
    "KANBAN_SAFETY_FACTOR": (
        "0.25",
        "Margin of the card-size recommendation over demand × lead time (0.25 = 25 %, 0-5).",
    ),
    "KANBAN_TIMEZONE": (
        None,
        "The site's time zone, an IANA name such as Europe/Berlin: every page, the wall, "
        "the request PDF, email and CSV show local time in it. Default: the server's zone.",
    ),
    "KANBAN_AUTO_SEND_WINDOW_MINUTES": (
        "15",
        "Automatic sending emails a supplier at most once per this many minutes (0-1440).",
    ),
    "KANBAN_AUTO_SEND_DAILY_CAP": (
        "10",
        "Automatic emails per supplier per UTC day; the next one switches it off (1-1000).",
    ),
    "KANBAN_DELIVERY_ATTEMPTS": (
        "8",
        "Attempts of an email or webhook delivery before it is marked failed (1-30).",
    ),
    "KANBAN_WEBHOOK_TIMEOUT": ("5", "Seconds a webhook receiver has to answer (1-30)."),
    "KANBAN_BOARD_SCOPE_ABOVE": (
        "5000",
        "Above this many active bins, a board filtered by zone holds that zone's cards only "
        "and changing zone loads a new page (1-1000000).",
    ),
    "KANBAN_EVENT_RETENTION_DAYS": (
        "30",
        "Days the change feed keeps its events (1-3650); older ones are pruned every hour by "
        "the outbox worker and by `kanban prune-events`. A board away longer reloads in full.",
    ),
}


#: The site's details on supplier requests: config keys, each read from ``KANBAN_<key>``.
SITE_DETAILS = (
    "COMPANY_NAME",
    "DELIVERY_ADDRESS",
    "BUYER_NAME",
    "BUYER_EMAIL",
    "BUYER_PHONE",
    "TERMS",
)


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def database_url_from_env() -> str | None:
    """``KANBAN_DATABASE_URL`` when it is set."""
    return _env("KANBAN_DATABASE_URL")


def default_instance_path() -> Path:
    """The instance folder: ``KANBAN_INSTANCE_PATH`` or ``./instance``."""
    return Path(_env("KANBAN_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def site_database_url() -> str:
    """The site's database as the commands find it, without building the app (which would
    create the instance folder and an empty SQLite file): ``KANBAN_DATABASE_URL``, else
    ``kanban.db`` in the instance folder."""
    return database_url_from_env() or f"sqlite:///{default_instance_path() / 'kanban.db'}"


def site_timezone() -> str:
    """The site's clock (``KANBAN_TIMEZONE`` or the server's zone), without the app."""
    return _timezone()


def _secret_key(instance: Path, *, create: bool) -> str | None:
    """Read the generated secret; create it (and its folder) only when ``create``."""
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    if not create:
        return None
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner only: secrets live here
    key = secrets.token_hex(32)
    # O_EXCL: if two processes start at once, the loser reads the winner's key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def prepare_site(instance: Path | None = None) -> Path:
    """Set up a site's instance folder and secret key (commands that set up a site only:
    a mistyped setting must not leave a stray site behind)."""
    instance = instance or default_instance_path()
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _env("KANBAN_SECRET_KEY") is None:
        _secret_key(instance, create=True)
    return instance


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite database URL; None for another database or one in memory."""
    if not url.startswith("sqlite"):
        return None
    database = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def missing_site() -> str | None:
    """Why no site is configured here (its SQLite file is missing or empty), else None."""
    url = _env("KANBAN_DATABASE_URL") or f"sqlite:///{default_instance_path() / 'kanban.db'}"
    path = sqlite_path(url)
    if path is None or (path.is_file() and path.stat().st_size > 0):
        return None
    return (
        f"no site is configured here: the database {path} does not exist. Set "
        "KANBAN_INSTANCE_PATH to the site's instance folder or KANBAN_DATABASE_URL to its "
        "database (`kanban serve` or `kanban db upgrade` sets up a new site)."
    )


#: ``KANBAN_*`` variables read outside the settings: the test suite's and an option's.
OTHER_VARIABLES = (
    "KANBAN_TEST_POSTGRES_URL",  # tests: a PostgreSQL server instead of a throwaway one
    "KANBAN_PG_BIN",  # tests: where the PostgreSQL server binaries are
    "KANBAN_CHROMIUM",  # browser tests: the Chromium binary
    "KANBAN_NEW_PASSWORD",  # kanban create-user --password
)


def unknown_variables(environ: dict[str, str] | None = None) -> list[str]:
    """A warning for each ``KANBAN_*`` variable that nothing reads, naming the nearest
    known one (a typo such as KANBAN_DATABASE_URI would otherwise go unnoticed)."""
    environ = dict(os.environ if environ is None else environ)
    known = [*SETTINGS, *OTHER_VARIABLES]
    warnings = []
    for name in sorted(environ):
        if not name.startswith("KANBAN_") or name in known:
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else ""
        warnings.append(f"unknown setting {name} is ignored{hint}")
    return warnings


def _number(name: str, kind: type[int] | type[float], low: float, high: float) -> Any:
    """A numeric setting within bounds; a clear error at start-up otherwise."""
    raw = _env(name) or SETTINGS[name][0]
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}, not {raw!r}")
    return value


def server_zone_name() -> str:
    """The server's own time zone as an IANA name: ``TZ``, else the zone ``/etc/localtime``
    points to, else ``/etc/timezone``; ``UTC`` when none of them names one."""
    candidates = [(os.environ.get("TZ") or "").lstrip(":")]
    try:
        target = os.readlink("/etc/localtime")
        candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name and not name.startswith("/"):
            try:
                clock.zone(name)
            except clock.UnknownZone:
                continue
            return name
    return "UTC"


def _timezone() -> str:
    """``KANBAN_TIMEZONE`` (checked against the zone database) or the server's zone."""
    name = _env("KANBAN_TIMEZONE")
    if name is None:
        return server_zone_name()
    try:
        clock.zone(name.strip())
    except clock.UnknownZone as exc:
        raise ValueError(f"KANBAN_TIMEZONE: {exc}") from None
    return name.strip()


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from defaults, environment and overrides."""
    overrides = dict(overrides or {})
    instance = Path(overrides.pop("INSTANCE_PATH", None) or default_instance_path())
    db_url = _env("KANBAN_DATABASE_URL") or f"sqlite:///{instance / 'kanban.db'}"
    cfg: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SMTP_URL": _env("KANBAN_SMTP_URL") or SETTINGS["KANBAN_SMTP_URL"][0],
        "MAIL_FROM": _env("KANBAN_MAIL_FROM") or SETTINGS["KANBAN_MAIL_FROM"][0],
        # What a supplier expects on a request: purchasing.settings.SiteDetails.
        **{key: _env(f"KANBAN_{key}") or "" for key in SITE_DETAILS},
        "LABELS_DIR": _env("KANBAN_LABELS_DIR") or SETTINGS["KANBAN_LABELS_DIR"][0],
        # How a password is hashed at rest (domain/passwords.py); not a setting.
        "PASSWORD_HASH_METHOD": passwords.HASH_METHOD,
        "SESSION_COOKIE_SECURE": (_env("KANBAN_SECURE_COOKIES") or "0") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SCAN_UNDO_MINUTES": int(_env("KANBAN_SCAN_UNDO_MINUTES") or 30),
        "UNUSUAL_FACTOR": _number("KANBAN_UNUSUAL_FACTOR", int, FACTOR_MIN, FACTOR_MAX),
        "LOGIN_ATTEMPTS": _number("KANBAN_LOGIN_ATTEMPTS", int, 1, 10_000),
        "ACCESS_LOG": _env("KANBAN_ACCESS_LOG"),
        "TRUSTED_PROXIES": _env("KANBAN_TRUSTED_PROXIES") or "",
        "DEMAND_DAYS": _number("KANBAN_DEMAND_DAYS", int, 7, 365),
        "SAFETY_FACTOR": _number("KANBAN_SAFETY_FACTOR", float, 0, 5),
        "TIMEZONE": _timezone(),
        "AUTO_SEND_WINDOW_MINUTES": _number("KANBAN_AUTO_SEND_WINDOW_MINUTES", int, 0, 1440),
        "AUTO_SEND_DAILY_CAP": _number("KANBAN_AUTO_SEND_DAILY_CAP", int, 1, 1000),
        "DELIVERY_ATTEMPTS": _number("KANBAN_DELIVERY_ATTEMPTS", int, 1, 30),
        "WEBHOOK_TIMEOUT": _number("KANBAN_WEBHOOK_TIMEOUT", float, 1, 30),
        "BOARD_SCOPE_ABOVE": _number("KANBAN_BOARD_SCOPE_ABOVE", int, 1, 1_000_000),
        "EVENT_RETENTION_DAYS": _number("KANBAN_EVENT_RETENTION_DAYS", int, 1, 3650),
        # Uploads (photos to decode, CSV imports) are bounded before they are read.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # A previewed spreadsheet (at most 5 MiB) is posted back as one form field.
        "MAX_FORM_MEMORY_SIZE": 6 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        # Set by `kanban demo` only (not a setting): the login page shows the demo logins.
        "DEMO": False,
        "JSON_SORT_KEYS": False,
    }
    cfg.update(overrides)
    if "SECRET_KEY" not in cfg:
        # An instance folder that exists is a site: its key is created on first use. None
        # where there is no site (e.g. `kanban --help` in another folder) creates nothing.
        cfg["SECRET_KEY"] = _env("KANBAN_SECRET_KEY") or _secret_key(
            instance, create=instance.is_dir()
        )
    return cfg
