"""Regenerate the protobuf and gRPC stubs from `protocols/klynge.proto`.

    python -m protocols.generated.regenerate            # rewrite the committed stubs
    python -m protocols.generated.regenerate --out DIR  # write them elsewhere (the test does)

grpcio-tools writes `import klynge_pb2` in the gRPC stub, which only works when
the output directory is on sys.path. The one rewrite below makes it the package
import `protocols.generated.klynge_pb2`; it is a fixed string replacement, so
the output is a pure function of the .proto and the grpcio-tools version.
grpcio-tools is a test/dev dependency only: the runtime needs grpcio and protobuf.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent
PROTO_NAME = "klynge.proto"
GENERATED_DIR = Path(__file__).resolve().parent
GENERATED_FILES = ("klynge_pb2.py", "klynge_pb2.pyi", "klynge_pb2_grpc.py")

_FLAT_IMPORT = "import klynge_pb2 as klynge__pb2\n"
_PACKAGE_IMPORT = "from protocols.generated import klynge_pb2 as klynge__pb2\n"


def _fix_imports(grpc_stub: Path) -> None:
    text = grpc_stub.read_text(encoding="utf-8")
    if text.count(_FLAT_IMPORT) != 1:
        raise RuntimeError(f"{grpc_stub}: expected exactly one line {_FLAT_IMPORT.strip()!r}")
    grpc_stub.write_text(text.replace(_FLAT_IMPORT, _PACKAGE_IMPORT), encoding="utf-8")


def generate(out_dir: Path) -> list[Path]:
    """Write the stubs into `out_dir` and return their paths."""
    from grpc_tools import protoc  # test/dev dependency, imported only here

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Generate into a scratch dir first so a protoc failure never leaves
        # half-written stubs in out_dir.
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{PROTO_DIR}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(PROTO_DIR / PROTO_NAME),
            ]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed on {PROTO_DIR / PROTO_NAME} (exit {status})")
        _fix_imports(Path(tmp) / "klynge_pb2_grpc.py")
        written = []
        for name in GENERATED_FILES:
            target = out_dir / name
            target.write_bytes((Path(tmp) / name).read_bytes())
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GENERATED_DIR)
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
