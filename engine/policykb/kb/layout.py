"""Where the ontology, knowledge base, rules and queries live.

The bundled copies ship inside the wheel (policykb/_bundle); in a source checkout they are the
top-level folders of the repository. ``--kb DIR`` points at another directory of the same layout:
DIR/kb holds the Turtle knowledge base (or DIR itself, when it has no kb/ folder), and DIR/ontology,
DIR/rules and DIR/queries are used when present, the bundled ones otherwise.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import LayoutError

_PACKAGE = Path(__file__).resolve().parent.parent  # engine/policykb


def _slug(root: Path) -> str:
    """A folder name for a knowledge base kept outside it: its folder name and a digest of its path."""
    digest = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:16]
    return f"{root.name or 'kb'}-{digest}"


def bundled_root() -> Path:
    """The directory holding the bundled ontology/, kb/, rules/ and queries/."""
    packaged = _PACKAGE / "_bundle"
    if (packaged / "kb").is_dir():
        return packaged
    source = _PACKAGE.parent.parent  # engine/policykb -> repository root
    if (source / "kb").is_dir() and (source / "ontology").is_dir():
        return source
    raise LayoutError(
        "cannot find the bundled knowledge base",
        hint="reinstall policykb (pip install .) or pass --kb DIR",
    )


@dataclass(frozen=True)
class Layout:
    """The four folders one run works on."""

    root: Path
    kb: Path
    ontology: Path
    rules: Path
    queries: Path

    @classmethod
    def bundled(cls) -> "Layout":
        return cls.at(bundled_root())

    @classmethod
    def at(cls, directory: str | Path | None) -> "Layout":
        base = bundled_root()
        if directory is None:
            root = base
        else:
            root = Path(directory).resolve()
            if not root.is_dir():
                raise LayoutError(f"knowledge-base directory {directory} does not exist",
                                  hint="pass --kb with an existing directory that holds kb/ (or Turtle files)")
        kb = root / "kb" if (root / "kb").is_dir() else root
        if directory is not None and kb == root and not any(root.glob("*.ttl")):
            raise LayoutError(f"{directory} holds no knowledge base: no kb/ folder and no Turtle files",
                              hint="pass --kb with a directory that holds kb/ (a copy of the bundled kb/, ontology/, "
                                   "rules/ and queries/ folders), or Turtle files")

        def pick(name: str) -> Path:
            own = root / name
            return own if own.is_dir() else base / name

        return cls(root=root, kb=kb, ontology=pick("ontology"), rules=pick("rules"), queries=pick("queries"))

    @property
    def state_dir(self) -> Path:
        """Where the derived store, caches and the lock of this knowledge base live: ROOT/.policykb, or,
        for the installed package's bundled knowledge base (which nobody may write to), a folder in the
        user's cache. POLICYKB_STATE_DIR overrides both. Everything in it can be deleted at any time."""
        override = os.environ.get("POLICYKB_STATE_DIR")
        if override:
            return Path(override).expanduser().resolve() / _slug(self.root)
        if self.installed or not os.access(self.root, os.W_OK):
            cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            return cache / "policykb" / _slug(self.root)
        return self.root / ".policykb"

    @property
    def installed(self) -> bool:
        """True for the knowledge base inside an installed package (site-packages), which imports must not change."""
        return self.root.name == "_bundle"

    def relative(self, path: Path) -> str:
        """A path as messages show it: relative to the layout root when inside it."""
        path = Path(path).resolve()
        for anchor in (self.root, self.ontology.parent, self.rules.parent):
            try:
                return path.relative_to(anchor).as_posix()
            except ValueError:
                continue
        return str(path)

    def rule_files(self) -> list[Path]:
        """Scheme files in rules/ (test-case files excluded)."""
        return sorted(p for p in self.rules.glob("*.yaml") if not p.name.endswith(".tests.yaml"))
