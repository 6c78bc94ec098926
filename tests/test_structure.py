"""The shape of the code (docs/manual/architecture.md): small modules, thin layers, one
vocabulary. Import directions are checked by import-linter (pyproject.toml)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanban.domain import cards, statuses

KANBAN = Path(__file__).resolve().parent.parent / "kanban"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: Where the statuses, kinds and modes are spelled (their one definition).
VOCABULARY_MODULES = {"domain/statuses.py", "domain/cards.py"}
#: Packages below web/: no Flask request context, no current_app.
WEB_LEVEL = ("web/", "cli.py", "cli_labels.py", "cli_outbox.py", "cli_data.py", "__init__.py")


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(KANBAN.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path.relative_to(KANBAN).as_posix(), path, ast.parse(path.read_text())


MODULES = list(_modules())


def test_no_module_is_longer_than_400_lines() -> None:
    long = {rel: n for rel, path, _ in MODULES if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}


def test_a_function_over_60_lines_says_why_on_the_line_above_it() -> None:
    unexplained = []
    for rel, path, tree in MODULES:
        lines = path.read_text().splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            above = lines[first - 2].strip() if first >= 2 else ""
            if length > MAX_FUNCTION_LINES and not above.startswith("# long:"):
                unexplained.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    assert unexplained == []


def _kanban_module(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").startswith("kanban")
    return any(alias.name.startswith("kanban") for alias in node.names)


def test_no_function_imports_our_own_modules_to_dodge_a_cycle() -> None:
    local = []
    for rel, _path, tree in MODULES:
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom) and _kanban_module(node):
                    local.append(f"{rel}:{node.lineno}")
    # create_app imports the web layer lazily so that `import kanban.domain` stays light.
    assert [x for x in local if not x.startswith("__init__.py:")] == []


def test_nothing_below_web_uses_the_request_or_current_app() -> None:
    found = []
    for rel, _path, tree in MODULES:
        if rel.startswith(WEB_LEVEL):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                bad = {a.name for a in node.names} & {"current_app", "request", "g", "session"}
                if bad:
                    found.append(f"{rel}: {sorted(bad)}")
    assert found == []


def test_no_module_reaches_into_another_modules_private_names() -> None:
    found = []
    for rel, _path, tree in MODULES:
        imported_modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _kanban_module(node):
                for alias in node.names:
                    if alias.name.startswith("_") and alias.name != "__version__":
                        found.append(f"{rel}: imports {alias.name}")
                    imported_modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import) and _kanban_module(node):
                imported_modules |= {a.asname or a.name.split(".")[0] for a in node.names}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules
            ):
                found.append(f"{rel}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert found == []


def test_every_package_says_what_it_owns() -> None:
    for init in KANBAN.glob("*/__init__.py"):
        if init.parent.name == "migrations":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.parent.name}/__init__.py has no docstring"


#: Every value a status, kind, state or mode can take.
VALUES = {
    str(member)
    for enum in (
        cards.CardState,
        statuses.RequestStatus,
        statuses.LineStatus,
        statuses.MovementKind,
        statuses.Mode,
        statuses.EventKind,
        statuses.Role,
        statuses.SentVia,
        statuses.DeliveryKind,
        statuses.WebhookEvent,
        # DeliveryStatus is left out: "pending" is also an SSL socket's method name.
    )
    for member in enum
}


def _raw_status_strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """String constants that spell a status, kind, mode or role: everything but dict
    keys (JSON field names), docstrings and the bodies of enum classes."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            skip |= {id(k) for k in node.keys if k is not None}
        documented = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        if isinstance(node, documented) and node.body and isinstance(node.body[0], ast.Expr):
            skip.add(id(node.body[0].value))
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Name) and b.id.endswith("Enum") for b in node.bases
        ):
            skip |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and text in VALUES and id(node) not in skip:
            yield node.lineno, text


@pytest.mark.parametrize("rel", [rel for rel, _p, _t in MODULES if rel not in VOCABULARY_MODULES])
def test_no_raw_status_string_outside_the_definitions(rel: str) -> None:
    tree = next(t for r, _p, t in MODULES if r == rel)
    assert list(_raw_status_strings(tree)) == []


def test_advisory_lock_keys_are_defined_once_and_never_shared() -> None:
    """Two locks with one PostgreSQL advisory key would wait for each other (the outbox
    leader's session lock once blocked every bin created while a worker ran)."""
    keys: dict[int, str] = {}
    for rel, _path, tree in MODULES:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.endswith("LOCK_KEY")
            ):
                where = f"{rel}:{node.targets[0].id}"
                assert rel == "core/tx.py", f"{where}: define advisory lock keys in core/tx.py"
                value = ast.literal_eval(node.value)
                assert value not in keys, f"{where} has the key of {keys[value]}"
                keys[value] = where
    assert len(keys) >= 4
