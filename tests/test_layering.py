"""The one-way dependencies of the package: abi <- hal <- kernel <- servers, linux <- cli.

Every ``import`` and ``from ... import`` counts, wherever it is: at module level,
inside functions, under ``if TYPE_CHECKING:``. Relative imports are resolved.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cloudos"

FORBIDDEN = {
    "abi": ("cloudos.hal", "cloudos.kernel", "cloudos.linux", "cloudos.servers", "cloudos.cli"),
    "hal": ("cloudos.kernel", "cloudos.linux", "cloudos.servers", "cloudos.cli"),
    "kernel": ("cloudos.linux", "cloudos.servers", "cloudos.cli"),
    "linux": ("cloudos.servers", "cloudos.cli"),
    "servers": ("cloudos.linux", "cloudos.cli"),
    "trace": ("cloudos.cli",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # "from cloudos import cli" imports cloudos.cli
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) \
                and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                in ("import_module", "__import__") and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return found


def violates(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def test_the_package_has_the_expected_layers() -> None:
    for layer in FORBIDDEN:
        assert (PACKAGE / layer).is_dir(), layer
    assert sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer: str) -> None:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, target in imported(path):
            for prefix in FORBIDDEN[layer]:
                if violates(target, prefix):
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert bad == []


def test_the_checker_sees_hidden_imports(tmp_path: Path) -> None:
    """Imports inside functions and TYPE_CHECKING blocks, and relative ones, are seen."""
    global PACKAGE
    saved = PACKAGE
    PACKAGE = tmp_path / "cloudos"
    try:
        mod = PACKAGE / "kernel" / "x.py"
        mod.parent.mkdir(parents=True)
        mod.write_text(
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from cloudos.linux.machine import Machine\n"
            "def f():\n    import cloudos.servers.vfs\n    from ..cli import main\n"
            "from .. import linux\n")
        targets = {t for _, t in imported(mod)}
        assert "cloudos.linux.machine" in targets
        assert "cloudos.servers.vfs" in targets
        assert "cloudos.cli" in targets
        assert "cloudos.linux" in targets
    finally:
        PACKAGE = saved


def test_abi_imports_nothing_of_cloudos_but_itself() -> None:
    """The ABI is data below every layer: not even ``cloudos.errno`` (which re-exports the
    kernel's ``KernelError``) or the machine."""
    bad = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
           for path in sorted((PACKAGE / "abi").rglob("*.py"))
           for line, target in imported(path)
           if violates(target, "cloudos") and not violates(target, "cloudos.abi")]
    assert bad == []
