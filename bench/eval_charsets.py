"""Charset decoding on the shared corpus: real pages as served, and the same pages re-encoded in legacy charsets.

    .venv/bin/python bench/eval_charsets.py [--corpus ../shared/corpus] [--against HEAD~1] [--limit N]

Part 1 decodes every corpus page (all of them UTF-8 as saved) and counts outputs that differ from a strict
UTF-8 decode. Part 2 turns each page into the legacy charset its language used on the web (windows-1252 for
Western pages, windows-1251 for Russian, cp932 for Japanese ...), removes its charset declarations, and decodes
it undeclared, mislabelled as UTF-8 and correctly labelled; a decode is right when it returns the page's text
exactly. With --against, the same is done with transforms/encodings.py as of that git revision, side by side.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import types
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.encodings import decode_html  # noqa: E402

Decoder = Callable[[bytes, "dict[str, str] | None"], str]
_DECLARATION = re.compile(r"<meta[^>]*charset[^>]*>|(?<=<\?xml)[^>]*encoding=[^>]*(?=\?>)", re.IGNORECASE)
# Legacy charset of each fundus country folder whose language is not written in windows-1252.
_COUNTRY_CHARSET = {
    "pl": "cp1250", "cz": "cp1250", "tr": "cp1254", "lt": "cp1257", "ru": "cp1251", "ua": "cp1251",
    "lb": "cp1256", "il": "cp1255", "jp": "cp932", "cn": "gbk", "kr": "cp949", "vn": None,
}  # fmt: skip
# Non-Latin letters a page needs before it counts as written in that script.
MIN_SCRIPT_LETTERS = 500
# First word of a Unicode character name -> the legacy charset of that script (for pages without a country).
_SCRIPT_CHARSET = {
    "CYRILLIC": "cp1251", "ARABIC": "cp1256", "HEBREW": "cp1255", "GREEK": "cp1253",
    "HIRAGANA": "cp932", "KATAKANA": "cp932", "HANGUL": "cp949", "CJK": "gbk",
}  # fmt: skip


def load_decoder(revision: str) -> Decoder:
    """decode_html from transforms/encodings.py as of a git revision."""
    source = subprocess.run(
        ["git", "show", f"{revision}:transforms/encodings.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"encodings_{revision}")
    exec(compile(source, f"{revision}:transforms/encodings.py", "exec"), module.__dict__)
    return module.decode_html


def pick_legacy_charset(page_path: str, text: str) -> str | None:
    """The legacy charset a page in this language would have been served in, or None to skip it."""
    parts = page_path.split("/")
    if parts[1] == "fundus" and parts[2] in _COUNTRY_CHARSET:
        return _COUNTRY_CHARSET[parts[2]]
    scripts = Counter(unicodedata.name(c, "?").split()[0] for c in text if not c.isascii() and c.isalpha())
    script, letters = scripts.most_common(1)[0] if scripts else ("LATIN", 0)
    if script == "LATIN" or letters < MIN_SCRIPT_LETTERS:  # a Western page with a foreign link or name or two
        return "cp1252"
    if script == "CJK" and (scripts["HIRAGANA"] or scripts["KATAKANA"]):
        return "cp932"
    return _SCRIPT_CHARSET.get(script)


def legacy_cases(text: str, charset: str) -> tuple[str, list[tuple[str, bytes, dict[str, str] | None]]]:
    """(expected text, [(scenario, bytes, headers)]) for a page re-encoded in `charset`, declarations removed."""
    body = _DECLARATION.sub("", text).encode(charset, errors="xmlcharrefreplace")
    expected = body.decode(charset)
    cases = [
        ("undeclared", body, None),
        ("labelled utf-8", body, {"content-type": "text/html; charset=utf-8"}),
        ("labelled right", body, {"content-type": f"text/html; charset={charset}"}),
    ]
    if charset == "cp1252":
        cases.append(("labelled iso-8859-1", body, {"content-type": "text/html; charset=iso-8859-1"}))
    return expected, cases


def evaluate(corpus: Path, decoders: dict[str, Decoder], limit: int | None) -> None:
    """Print part 1 (pages as saved) and part 2 (legacy re-encodings) for each decoder."""
    records = [json.loads(line) for line in (corpus / "pages.jsonl").read_text().splitlines()][:limit]
    changed: Counter[str] = Counter()
    right: Counter[tuple[str, str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    wrong: dict[str, list[str]] = {name: [] for name in decoders}
    for record in records:
        raw = gzip.decompress((corpus / record["page"]).read_bytes())
        text = raw.decode("utf-8-sig")
        for name, decode in decoders.items():
            changed[name] += decode(raw, None) != text
        charset = pick_legacy_charset(record["page"], text)
        if charset is None:
            continue
        expected, cases = legacy_cases(text, charset)
        for scenario, body, headers in cases:
            total[(charset, scenario)] += 1
            for name, decode in decoders.items():
                ok = decode(body, headers) == expected
                right[(name, charset, scenario)] += ok
                if not ok:
                    wrong[name].append(f"{record['page']} as {charset}, {scenario}")
    print(f"part 1: {len(records)} pages as saved; outputs differing from their UTF-8 text:")
    for name in decoders:
        print(f"  {name}: {changed[name]}")
    print("\npart 2: legacy re-encodings decoded exactly (right / pages)")
    print("| charset | scenario | " + " | ".join(decoders) + " |")
    print("|---|---|" + "---|" * len(decoders))
    for charset, scenario in sorted(total):
        cells = " | ".join(
            f"{right[(name, charset, scenario)]}/{total[(charset, scenario)]}" for name in decoders
        )
        print(f"| {charset} | {scenario} | {cells} |")
    for name, misses in wrong.items():
        print(f"\n{name}: {len(misses)} wrong decodes")
        for miss in misses:
            print(f"  {miss}")


def main() -> None:
    """Parse arguments and run the evaluation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--against", help="a git revision whose decode_html to compare with")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    decoders: dict[str, Decoder] = {"working tree": decode_html}
    if args.against:
        decoders = {args.against: load_decoder(args.against), **decoders}
    evaluate(args.corpus, decoders, args.limit)


if __name__ == "__main__":
    main()
