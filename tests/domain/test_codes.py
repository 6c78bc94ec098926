"""Scanned text validation and command codes."""

from __future__ import annotations

import datetime as dt

import pytest

from kanban.domain import codes
from kanban.domain.codes import ScanTextError, parse_scanned_at


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("A-01-03\r\n", "A-01-03"),
        ("  A-01-03\t", "A-01-03"),
        (b"A-01-03", "A-01-03"),
        ("Grüße-1", "Grüße-1"),
    ],
)
def test_clean_scan_text_strips_scanner_suffixes(raw: str | bytes, clean: str) -> None:
    assert codes.clean_scan_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid_code"),
        ("   ", "invalid_code"),
        ("A\x00B", "invalid_code"),
        ("A\x1bB", "invalid_code"),
        ("A\u200bB", "invalid_code"),
        (b"\xff\xfe", "invalid_code"),
        ("X" * (codes.MAX_SCAN_LENGTH + 1), "code_too_long"),
        (42, "invalid_code"),
    ],
)
def test_clean_scan_text_refuses_bad_text(raw: object, code: str) -> None:
    with pytest.raises(codes.ScanTextError) as err:
        codes.clean_scan_text(raw)  # type: ignore[arg-type]
    assert err.value.code == code


def test_longest_scan_is_accepted() -> None:
    assert len(codes.clean_scan_text("Y" * codes.MAX_SCAN_LENGTH)) == codes.MAX_SCAN_LENGTH


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("A-01-03", True),
        ("Z9._/-", True),
        ("A" * 16, True),
        ("A" * 17, False),
        ("-A", False),
        ("a-01", False),
        ("A 01", False),
        ("", False),
        ("*KB:UNDO", False),
        ("A/B-1", True),
        ("A/.../B", True),
        ("A/.B", True),
        ("Z/../A-01-01", False),
        ("Z/./A-01-01", False),
        ("A/..", False),
        ("A/.", False),
        ("A/", False),
        ("A//B", False),
    ],
)
def test_bin_code_rules(code: str, ok: bool) -> None:
    assert codes.is_valid_bin_code(code) is ok


@pytest.mark.parametrize(
    ("old", "taken", "new"),
    [
        ("Z/../A-01-01", set(), "Z/A-01-01"),
        ("A/", set(), "A"),
        ("A//B", set(), "A/B"),
        ("A/./B", {"A/B"}, "A/B-2"),
        ("A/..", {"A", "A-2"}, "A-3"),
        ("ABCDEFGHIJKLMNO/", {"ABCDEFGHIJKLMNO"}, "ABCDEFGHIJKLMN-2"),
    ],
)
def test_a_code_that_breaks_the_rules_gets_a_free_valid_code_near_it(
    old: str, taken: set[str], new: str
) -> None:
    suggested = codes.suggest_bin_code(old, taken)
    assert suggested == new and codes.is_valid_bin_code(suggested)


def test_every_command_round_trips_through_its_text() -> None:
    commands = codes.all_commands()
    assert len(commands) == 3 + 10 + 1 + 2
    assert [c.text for c in commands[-3:]] == ["*KB:UNDO", "*KB:CONFIRM", "*KB:CANCEL"]
    for cmd in commands:
        assert codes.parse_command(cmd.text) == cmd


@pytest.mark.parametrize("text", ["A-01-03", "*KB:QTY:11", "*KB:QTY:0", "*KB:MODE:EAT", "*KB:"])
def test_non_commands(text: str) -> None:
    assert codes.parse_command(text) is None


# --------------------------------------------------------------------------- scanned_at

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T09:30:00Z", dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),
        ("2024-05-01T11:30:00.250+02:00", dt.datetime(2024, 5, 1, 9, 30, 0, 250000, tzinfo=dt.UTC)),
        ("2024-04-01T00:00:00-05:00", dt.datetime(2024, 4, 1, 5, 0, tzinfo=dt.UTC)),
    ],
)
def test_scanned_at_is_read_in_utc(text: str, expected: dt.datetime) -> None:
    assert parse_scanned_at(text, NOW) == expected


def test_a_device_clock_running_ahead_cannot_place_a_scan_after_now() -> None:
    assert parse_scanned_at("2024-05-01T12:10:00Z", NOW) == NOW


@pytest.mark.parametrize(
    "bad",
    [
        "2024-05-01T09:30:00",  # no offset: whose time?
        "yesterday",
        "2024-05-01T09:30:00Z" + " " * 30,
        "２０２４-05-01T09:30:00Z",
        1714555800,
        None,
        "",
    ],
)
def test_a_scanned_at_that_is_not_an_iso_time_with_offset_is_refused(bad: object) -> None:
    with pytest.raises(ScanTextError) as err:
        parse_scanned_at(bad, NOW)
    assert err.value.code == "invalid_scanned_at"
