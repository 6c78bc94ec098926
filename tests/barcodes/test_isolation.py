"""kanban/barcodes stays the one home of the barcode libraries, in small modules.

Every module of kanban/ is read with ``ast`` (nothing is imported), so the checks see
function-local and guarded imports as well as top-level ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KANBAN = Path(__file__).resolve().parents[2] / "kanban"
BARCODES = KANBAN / "barcodes"
LIBRARIES = ("barcode", "pyzbar", "zxingcpp")  # python-barcode, pyzbar, zxing-cpp
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_packages(tree: ast.Module) -> set[str]:
    """Top-level names of the absolute imports anywhere in ``tree``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_kanban_and_its_barcode_modules_are_found() -> None:
    # Guards the checks below against passing on an empty or misplaced folder.
    found = {p.relative_to(KANBAN).as_posix() for p in _modules(KANBAN)}
    assert {"__init__.py", "barcodes/decode.py", "barcodes/labels.py"} <= found


@pytest.mark.parametrize("library", LIBRARIES)
def test_each_barcode_library_is_imported_by_exactly_one_module(library: str) -> None:
    importers = [
        p.relative_to(KANBAN).as_posix()
        for p in _modules(KANBAN)
        if library in _imported_packages(_tree(p))
    ]
    assert len(importers) == 1, f"{library} is imported by {importers or 'no module'}"
    assert importers[0].startswith("barcodes/"), f"{library} is imported outside barcodes/"


def test_no_barcodes_module_is_longer_than_400_lines() -> None:
    long = {
        p.name: n
        for p in _modules(BARCODES)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_barcodes_functions_over_60_lines_give_a_reason() -> None:
    # A long function is allowed when the line directly above its def (or above its first
    # decorator) is a comment starting with "# long:" that says why.
    unexplained = []
    for path in _modules(BARCODES):
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in _functions(_tree(path)):
            if fn.end_lineno is None or fn.end_lineno - fn.lineno + 1 <= MAX_FUNCTION_LINES:
                continue
            first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
            above = lines[first - 2].strip() if first >= 2 else ""
            if not above.startswith("# long:"):
                unexplained.append(f"{path.name}:{fn.lineno} {fn.name}")
    assert unexplained == []


def test_barcodes_modules_import_only_at_module_level() -> None:
    local = []
    for path in _modules(BARCODES):
        for fn in _functions(_tree(path)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    local.append(f"{path.name}:{node.lineno} in {fn.name}")
    assert local == []
