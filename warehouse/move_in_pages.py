"""Raw page files of a single-file warehouse brought into the lake's pages folder, same relative names.

`data/news.duckdb` kept its page bodies under `data/news.pages/`; the lake keeps them under
`location.pages_dir_for(db)` (`data/news.lake.pages/`). raw_pages.body_file is relative to that folder, so a
row copied as it is finds its body once the file sits at the same relative path. Each file is hard-linked (no
second copy on disk; page files are never rewritten) or, across file systems, copied.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

OLD_PAGES_SUFFIX = ".pages"


@dataclass
class PageCopy:
    """What bringing the page files over did."""

    linked: int = 0
    copied: int = 0
    present: int = 0  # already in the lake's folder with the same size (an earlier, interrupted move)
    missing: list[str] = field(default_factory=list)  # named by raw_pages but absent from the old folder
    created: list[Path] = field(default_factory=list)  # files this move made, removed again if it fails

    @property
    def total(self) -> int:
        """Page files now in the lake's folder for the moved rows."""
        return self.linked + self.copied + self.present


class PageFileNameError(ValueError):
    """raw_pages names a page file outside the pages folder."""


def old_pages_dir(old_file: Path) -> Path:
    """The page folder of a single-file warehouse: data/news.duckdb -> data/news.pages."""
    return old_file.with_name(old_file.stem + OLD_PAGES_SUFFIX)


def check_relative_name(name: str) -> PurePosixPath:
    """A body_file name as a path that stays inside its pages folder."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise PageFileNameError(f"raw_pages names a page file outside its folder: {name!r}")
    return relative


def place_file(source: Path, target: Path) -> str:
    """Hard-link (else copy) one file to a new path, complete or not at all; return "linked" or "copied"."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        os.link(source, partial)
        how = "linked"
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, partial)
        how = "copied"
    os.replace(partial, target)
    return how


def bring_page_files(names: list[str], source_dir: Path, target_dir: Path) -> PageCopy:
    """Put every named page file of the old folder at the same relative path in the lake's folder."""
    result = PageCopy()
    try:
        for name in names:
            relative = check_relative_name(name)
            source, target = source_dir / relative, target_dir / relative
            if not source.is_file():
                result.missing.append(name)
            elif target.is_file() and target.stat().st_size == source.stat().st_size:
                result.present += 1
            else:
                how = place_file(source, target)
                result.created.append(target)
                result.linked += how == "linked"
                result.copied += how == "copied"
    except BaseException:
        remove_placed(result)
        raise
    return result


def remove_placed(result: PageCopy) -> None:
    """Delete the page files a failed move placed (those that were already there stay)."""
    for path in result.created:
        path.unlink(missing_ok=True)
    result.created.clear()
