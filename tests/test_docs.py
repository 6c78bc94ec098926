"""README is the user's manual: it must keep up with the CLI, the settings and CI."""

from __future__ import annotations

import re
from pathlib import Path

import click

from kanban import config
from kanban.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "kanban") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        found.append((full, command))
        if isinstance(command, click.Group) and name != "db":
            found.extend(_commands(command, full))
    return found


def test_quick_start_has_exactly_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1)  # type: ignore[union-attr]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), "CI must run README's test command"


def test_every_cli_command_and_option_is_documented() -> None:
    missing = []
    for full, command in _commands(main):
        if f"`{full}" not in README:
            missing.append(full)
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt.startswith("--") and opt != "--help" and opt not in README:
                        missing.append(f"{full} {opt}")
    assert missing == []


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(KANBAN_[A-Z_]+)`", README))
    assert set(config.SETTINGS) <= documented


def test_benchmark_results_are_in_the_report_and_readme_shows_its_headline() -> None:
    """`make bench` writes every benchmark's table into bench/RESULTS.md, and README keeps
    only the headline (the figures with a target) and links the report."""
    report = (ROOT / "bench" / "RESULTS.md").read_text()
    for result in sorted((ROOT / "bench" / "results").glob("*.md")):
        first_row = next(
            line
            for line in result.read_text().splitlines()
            if line.startswith("| ") and "---" not in line
        )
        assert first_row in report, f"bench/RESULTS.md lacks the table of {result.name}"
    headline = README.split("<!-- bench:start -->", 1)[1].split("<!-- bench:end -->", 1)[0]
    assert "(bench/RESULTS.md)" in headline
    report_head = report.split("\n## ", 1)[0]
    rows = [line for line in report_head.splitlines() if line.startswith("| ")]
    assert len(rows) > 2 and all(row in headline for row in rows)


def test_readme_has_the_security_section() -> None:
    security = README.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    for part in (
        "### Threat model",
        "### What each role can and cannot do",
        "### What is logged",
        "### Behind a reverse proxy, and HTTPS",
        "### Reporting a vulnerability",
    ):
        assert part in security, part
    for setting in ("KANBAN_TRUSTED_PROXIES", "KANBAN_LOGIN_ATTEMPTS", "KANBAN_ACCESS_LOG"):
        assert setting in security, setting
