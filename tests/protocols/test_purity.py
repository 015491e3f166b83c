"""protocols/ is a pure core: no file, socket or process I/O in its source.

The import contracts (`lint-imports`, pyproject.toml) forbid the I/O modules;
they cannot see a call such as `path.read_text()` on a path handed in, so this
scans the syntax tree of every module for those calls. protocols/generated/
(the compiled gRPC stubs and the developer's tool that regenerates them) is
the one exception, as in the contracts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import protocols

PACKAGE = Path(protocols.__file__).parent
MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if "generated" not in p.relative_to(PACKAGE).parts
)

IO_METHODS = {
    "open", "read_text", "write_text", "read_bytes", "write_bytes", "mkdir", "unlink",
    "rmdir", "touch", "iterdir", "glob", "rglob", "connect", "bind", "listen", "accept",
}  # fmt: skip
IO_MODULES = {"socket", "pathlib", "shutil", "tempfile", "sqlite3", "subprocess", "io", "grpc"}
OS_ALLOWED = {"urandom"}  # the CSPRNG is randomness, not I/O


def io_calls(source: str) -> list[str]:
    """Where `source` opens, reads, writes or connects, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [
                f"{node.lineno}: import {n}" for n in names if n and n.split(".")[0] in IO_MODULES
            ]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append(f"{node.lineno}: open(")
            elif isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else None
                if owner == "os" and func.attr not in OS_ALLOWED:
                    found.append(f"{node.lineno}: os.{func.attr}(")
                elif func.attr in IO_METHODS:
                    found.append(f"{node.lineno}: .{func.attr}(")
    return found


def test_the_scan_sees_each_kind_of_io() -> None:
    source = (
        "import socket\nfrom pathlib import Path\nopen('x')\np.read_text()\n"
        "p.write_bytes(b'')\nos.open('x', 0)\nos.urandom(8)\ns.connect(('h', 1))\n"
    )
    assert io_calls(source) == [
        "1: import socket",
        "2: import pathlib",
        "3: open(",
        "4: .read_text(",
        "5: .write_bytes(",
        "6: os.open(",
        "8: .connect(",
    ]


def test_modules_are_found() -> None:
    names = {p.name for p in MODULES}
    assert {"agent.py", "coordinator.py", "messages.py", "wire.py"} <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_protocol_module_does_no_io(module: Path) -> None:
    assert io_calls(module.read_text(encoding="utf-8")) == [], f"protocols/{module.name} does I/O"
