"""The documents built into out/ that the pages list and the server hands out."""

from __future__ import annotations

from pathlib import Path


def resolve_output(out_dir: Path, relative: str) -> Path | None:
    """The file `relative` names inside `out_dir`, or None when it names anything
    else: a folder, a missing file, or a path that leaves out/ (.., a symlink out)."""
    try:
        root = out_dir.resolve()
        target = (root / relative).resolve()
        inside = target.is_relative_to(root) and target != root
        return target if inside and target.is_file() else None
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return None


def output_files(out_dir: Path, instance_id: str) -> list[Path]:
    """The files in out/<instance_id>/ that `resolve_output` would hand out, by name."""
    folder = out_dir / instance_id
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    # a link that leads out of out/ is neither listed nor served
    return [p for p in paths if resolve_output(out_dir, p.relative_to(out_dir).as_posix()) is not None]


def size_text(n: float) -> str:
    """A file's size for people: "512 bytes", "3.4 KB", "1.2 MB"."""
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""
