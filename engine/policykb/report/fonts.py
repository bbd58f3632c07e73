"""The CJK font charts, PDFs and pages use, so that Chinese never shows as boxes.

Noto Sans SC (Google and Adobe, SIL Open Font License 1.1) comes from the PyPI package
pylopdf-fonts-zh-cn, a dependency of policykb: the font travels with the install, whatever fonts the
machine has. Under the OFL it may be bundled, embedded and subset with any software; PDFs embed the
glyphs they use, and static sites get a subset of it holding only their own characters.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import PolicyKBError

FAMILY = "Noto Sans SC"
LICENCE = "SIL Open Font License 1.1 (Noto Sans SC, from the package pylopdf-fonts-zh-cn)"


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    """The path of the Noto Sans SC font file."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:  # pragma: no cover - a dependency of the package
        raise PolicyKBError("the CJK font package pylopdf-fonts-zh-cn is not installed",
                            hint="reinstall policykb (pip install .), which installs it") from None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    if not path.is_file():  # pragma: no cover
        raise PolicyKBError(f"the CJK font {path} is missing", hint="reinstall pylopdf-fonts-zh-cn")
    return path


def subset(text: str) -> bytes:
    """The font cut down to the characters of `text` (and ASCII), as an OpenType file for a web page."""
    from io import BytesIO

    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    options = ft_subset.Options()
    options.name_IDs = ["*"]  # keep the names: the OFL wants the copyright and licence notices kept
    options.notdef_outline = True
    font = TTFont(str(cjk_font()))
    chars = {ord(c) for c in text} | set(range(0x20, 0x7F))
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(chars))
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()
