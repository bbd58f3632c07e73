"""`policykb docs vocabulary`: the vocabulary page (every class and property of the ontology) as Markdown
or HTML, generated from the ontology, its shapes and the knowledge base so that it never drifts from them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from ..errors import UsageError
from ..kb.glossary import vocabulary
from ..report.vocabulary import markdown, page_html
from .common import command, load_kb


def register(sub) -> None:
    p = sub.add_parser("docs", help="generated documentation: the vocabulary page",
                       description="Documentation generated from the ontology and the knowledge base.")
    pages = p.add_subparsers(dest="page", metavar="PAGE", title="pages")
    pages.required = True
    q = command(pages, "vocabulary", cmd_vocabulary,
                "every class and property of the ontology, with labels, definition, domain and range, "
                "SHACL constraints and an example",
                "Write the vocabulary page: every class and property of ontology/policykb.ttl with its Chinese and "
                "English labels, definition, domain and range, the SHACL constraints of ontology/shapes.ttl that "
                "apply to it and one example from the knowledge base; then the prefixes, the concept schemes "
                "with their codes and the reused terms. docs/vocabulary.md in the repository is this command's "
                "output: regenerate it with `policykb docs vocabulary --out docs/vocabulary.md` after changing "
                "the ontology or the shapes.")
    q.add_argument("--format", choices=("md", "html"), default="md",
                   help="Markdown (default) or one self-contained HTML page")
    q.add_argument("--out", metavar="FILE", help="write to FILE (replaced whole) instead of standard output")


def cmd_vocabulary(args) -> int:
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: the folder {out.parent} does not exist",
                         hint="give --out a file in an existing folder, e.g. --out docs/vocabulary.md")
    terms = vocabulary(load_kb(args))
    text = markdown(terms) if args.format == "md" else page_html(terms)
    if out is None:
        sys.stdout.write(text)
        return 0
    _write(out, text)
    print(f"wrote {out}: {len(terms.classes)} classes, {len(terms.properties)} properties", file=sys.stderr)
    return 0


def _write(target: Path, text: str) -> None:
    """Replace the file whole: a reader never sees half a page, a failed run leaves the old one."""
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
