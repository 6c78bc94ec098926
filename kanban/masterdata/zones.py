"""Zones as records: create, edit (name and board order), deactivate and bring back
(audited, versioned)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..core.actor import Actor
from ..core.errors import NotFound, ServiceError
from ..core.tx import begin_write
from ..domain.statuses import AuditAction, AuditObject
from ..extensions import db
from ..models import Bin, Zone
from . import records
from .fields import Field, Kind, clean

FIELDS: dict[str, Field] = {
    "name": Field("Name", required=True, limit=80),
    "position": Field(
        "Display order", Kind.NUMBER, high=10_000, help="Lower numbers come first on the board."
    ),
    "active": Field("Active", Kind.SWITCH),
}
NEW_FIELDS = {k: f for k, f in FIELDS.items() if k != "active"}


def get_zone(zone_id: int) -> Zone:
    """A zone by id, or NotFound."""
    zone = db.session.get(Zone, zone_id)
    if zone is None:
        raise NotFound("unknown_zone", "No zone has this id.")
    return zone


def list_zones() -> list[Zone]:
    """Every zone in board order, active ones first."""
    stmt = sa.select(Zone).order_by(Zone.active.desc(), Zone.position, Zone.name)
    return list(db.session.scalars(stmt))


def zone_fields(zone: Zone) -> dict[str, Any]:
    """A zone's fields, as the forms, the API and the audit trail show them."""
    return {name: getattr(zone, name) for name in FIELDS}


def zone_record(zone: Zone) -> dict[str, Any]:
    """The JSON form of a zone, with its version."""
    return {"id": zone.id, **zone_fields(zone), "version": zone.record_version}


def _taken(name: str) -> str:
    return f"A zone named {name} exists already."


def create_zone(values: Mapping[str, Any], actor: Actor) -> Zone:
    """A new zone from a form or the API (audited); it goes last on the board unless a
    display order is given."""
    new = clean(NEW_FIELDS, values, creating=True, what="zone")
    begin_write()
    records.unique(Zone, Zone.name, new["name"], None, "name", _taken(new["name"]))
    if new.get("position") is None:
        last = db.session.scalar(sa.select(sa.func.max(Zone.position)))
        new["position"] = 0 if last is None else last + 1
    zone = Zone(**new)
    db.session.add(zone)
    records.flush_unique("name", _taken(new["name"]))
    records.created(AuditObject.ZONE, zone, zone.name, actor, zone_fields(zone))
    return zone


def update_zone(
    zone_id: int, values: Mapping[str, Any], *, version: int | None, actor: Actor
) -> Zone:
    """Change a zone's name or display order (``active`` deactivates or brings it back),
    if ``version`` is still its version; its bins' cards show a new name at once."""
    new = clean(FIELDS, values, creating=False, what="zone")
    begin_write()
    zone = get_zone(zone_id)
    renamed = "name" in new and new["name"] != zone.name
    bins = records.lock_bins(Bin.zone_id == zone.id) if renamed else []
    db.session.refresh(zone, with_for_update=True)
    records.check_version(AuditObject.ZONE, zone, version)
    if renamed:
        records.unique(Zone, Zone.name, new["name"], zone.id, "name", _taken(new["name"]))
    if new.get("position", 0) is None:
        new.pop("position")  # an emptied display order keeps the one it has
    active = new.pop("active", None)
    before = zone_fields(zone)
    for k, v in new.items():
        setattr(zone, k, v)
    records.changed(AuditObject.ZONE, zone, zone.name, actor, before, new)
    if active is not None and active != zone.active:
        _set_active(zone, active, actor)
    records.flush_unique("name", _taken(zone.name))
    if renamed:
        records.announce(bins, actor, {"zone": [before["name"], zone.name]})
    return zone


def _set_active(zone: Zone, active: bool, actor: Actor) -> None:
    """Deactivate a zone without active bins, or bring it back."""
    if not active:
        codes = list(
            db.session.scalars(
                sa.select(Bin.code)
                .where(Bin.zone_id == zone.id, Bin.active.is_(True))
                .order_by(Bin.code)
                .limit(4)
            )
        )
        if codes:
            shown = ", ".join(codes[:3]) + (", …" if len(codes) > 3 else "")
            raise ServiceError(
                "in_use",
                f"Zone {zone.name} still holds active bins ({shown}): move or retire them first.",
                409,
            )
    zone.active = active
    action = AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED
    records.changed(
        AuditObject.ZONE,
        zone,
        zone.name,
        actor,
        {"active": not active},
        {"active": active},
        action=action,
    )
