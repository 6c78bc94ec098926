"""The manual (docs/manual/, built by MkDocs) keeps up with the CLI, the settings, the API and
CI, and README, the front page, keeps its quick start and links that resolve."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import click
import pytest

from kanban import config, create_app
from kanban.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MANUAL = ROOT / "docs" / "manual"
#: The page of the manual each kind of reference belongs to, by its reader.
INTEGRATORS = (MANUAL / "integrators.md").read_text()
ADMINS = (MANUAL / "admins.md").read_text()
#: A Markdown link or image: [text](target) or ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _commands(group: click.Group, prefix: str = "kanban") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        found.append((full, command))
        if isinstance(command, click.Group) and name != "db":
            found.extend(_commands(command, full))
    return found


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading; GitHub's agrees for ours."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def _bench_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_start_has_exactly_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1)  # type: ignore[union-attr]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), "CI must run README's test command"


def test_every_cli_command_and_option_is_on_the_integrators_page() -> None:
    missing = []
    for full, command in _commands(main):
        if f"`{full}" not in INTEGRATORS:
            missing.append(full)
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt.startswith("--") and opt != "--help" and opt not in INTEGRATORS:
                        missing.append(f"{full} {opt}")
    assert missing == []


def test_every_setting_is_on_the_admins_page() -> None:
    settings = ADMINS.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(KANBAN_[A-Z_]+)`", settings))
    assert set(config.SETTINGS) - documented == set()


def test_every_api_route_is_on_the_integrators_page(tmp_path: Path) -> None:
    """Each ``/api/`` address with each of its methods, written out in the HTTP API section
    (``GET /api/bins/<code>``; the names inside ``<>`` may differ from the code's)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'docs.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    api = INTEGRATORS.split("\n## HTTP API\n", 1)[1].split("\n## Webhooks\n", 1)[0]
    placeholders = re.compile(r"<[^>]*>")
    documented = placeholders.sub("<>", api)
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = placeholders.sub("<>", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if not re.search(rf"{method} {re.escape(path)}(?![\w/<])", documented):
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def test_benchmark_report_is_in_the_manual_and_readme_shows_its_headline() -> None:
    """`make bench` writes every benchmark's table into bench/RESULTS.md (a page of the
    manual through a symlink), and README the headline bench/run.py makes of it."""
    report = (ROOT / "bench" / "RESULTS.md").read_text()
    assert (MANUAL / "bench" / "RESULTS.md").resolve() == (ROOT / "bench" / "RESULTS.md")
    for result in sorted((ROOT / "bench" / "results").glob("*.md")):
        first_row = next(
            line
            for line in result.read_text().splitlines()
            if line.startswith("| ") and "---" not in line
        )
        assert first_row in report, f"bench/RESULTS.md lacks the table of {result.name}"
    block = README.split("<!-- bench:start -->", 1)[1].split("<!-- bench:end -->", 1)[0]
    assert "(bench/RESULTS.md)" in block
    table = "\n".join(line for line in report.split("\n## ", 1)[0].splitlines() if "|" in line)
    assert table.count("\n") > 2
    assert _bench_run().headline(table) in block


def test_the_admins_page_has_the_security_model() -> None:
    security = ADMINS.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
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


def test_the_manual_builds_with_every_link_and_anchor_resolved(tmp_path: Path) -> None:
    """``mkdocs build --strict``: docs/mkdocs.yml turns a link to a missing page, a missing
    anchor or a page left out of the navigation into a warning, and --strict fails on it."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "-f", str(ROOT / "docs" / "mkdocs.yml")]
        + ["--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "integrators.html").exists()


def test_every_file_under_docs_is_part_of_the_manual() -> None:
    """A page written beside the manual (docs/*.md, kept there while others edit it) joins it
    through a symlink in docs/manual/ and an entry in the navigation of docs/mkdocs.yml."""
    linked = {p.resolve() for p in MANUAL.rglob("*.md")}
    outside = [p for p in (ROOT / "docs").glob("*.md") if p.resolve() not in linked]
    assert outside == []


@pytest.mark.parametrize("page", ["README.md", *sorted(p.name for p in MANUAL.glob("*.md"))])
def test_links_resolve_and_web_addresses_are_well_formed(page: str) -> None:
    """README's links to files of the repository (and the anchors in them) exist, and so do
    the manual's (MkDocs checks those too). Web addresses cannot be fetched here (no
    network): they must be well-formed http(s) URLs."""
    path = ROOT / page if page == "README.md" else MANUAL / page
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        parts = urlsplit(target)
        if parts.scheme:
            if parts.scheme not in ("http", "https") or not parts.netloc or " " in target:
                broken.append(target)
            continue
        file = (path.parent / parts.path).resolve() if parts.path else path
        if not file.exists() or (parts.fragment and parts.fragment not in _anchors(file)):
            broken.append(target)
    assert broken == []


def test_readme_shows_the_board_and_the_wall_as_small_pictures() -> None:
    for name in ("board.png", "wall.png"):
        picture = ROOT / "docs" / "img" / name
        assert f"(docs/img/{name})" in README
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert picture.stat().st_size < 300_000, f"{name} is over 300 KB"
