"""Build the portal's translation catalogs: `python -m services.portal.catalogs`.

The sources are translations/<lang>/*.po, one file per area of the portal (common, search,
referring, agency, sign-in), so translators and developers can work on areas side by
side. This merges each language's files and compiles them into
translations/<lang>/LC_MESSAGES/messages.mo, which the portal loads (and which is not kept
in git: the build makes it). It fails, naming each one, on a message translated two
different ways or left untranslated: a survivor's caseworker must never meet an English
word in the Vietnamese portal.

`--check` also extracts every string marked for translation in the portal's code and
templates and fails on any that no catalog translates (the suite runs this).
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent
TRANSLATIONS = HERE / "translations"
COMPILED = "LC_MESSAGES/messages.mo"


class CatalogError(Exception):
    pass


def merged(language: str) -> Catalog:
    """Every message of translations/<language>/*.po in one catalog."""
    catalog = Catalog(locale=language, domain="messages")
    problems = []
    for source in sorted((TRANSLATIONS / language).glob("*.po")):
        with source.open("rb") as fh:
            part = read_po(fh, locale=language)
        for message in part:
            if not message.id:
                continue
            if not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                problems.append(f"{source.name}: not translated: {message.id!r}")
                continue
            if "fuzzy" in message.flags:
                problems.append(f"{source.name}: marked fuzzy (not checked yet): {message.id!r}")
                continue
            known = catalog.get(message.id, context=message.context)
            if known is not None and known.string != message.string:
                problems.append(f"{source.name}: {message.id!r} is translated differently elsewhere")
                continue
            catalog.add(message.id, message.string, context=message.context)
    if problems:
        raise CatalogError("\n".join(problems))
    return catalog


def languages() -> list[str]:
    return sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir())


def build() -> dict[str, int]:
    counts = {}
    for language in languages():
        catalog = merged(language)
        target = TRANSLATIONS / language / COMPILED
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".mo.tmp")
        with partial.open("wb") as fh:
            write_mo(fh, catalog)
        partial.replace(target)  # a running portal never reads half a catalog
        counts[language] = len(catalog)
    return counts


def extracted() -> set[str]:
    """Every message id marked for translation in the portal's Python code and templates."""
    from babel.messages.extract import extract_from_dir

    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"trimmed": "true", "extensions": "jinja2.ext.i18n,jinja2.ext.do", "silent": "false"}}
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(HERE), method_map=method_map, options_map=options,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}):
        if isinstance(message, (list, tuple)):
            ids.update(m for m in message if m)
        elif message:
            ids.add(message)
    return ids


def untranslated(language: str) -> list[str]:
    catalog = merged(language)
    return sorted(m for m in extracted() if catalog.get(m) is None)


def stale(language: str) -> bool:
    target = TRANSLATIONS / language / COMPILED
    if not target.exists():
        return True
    built = target.stat().st_mtime
    return any(source.stat().st_mtime > built for source in (TRANSLATIONS / language).glob("*.po"))


def missing_as_po(language: str) -> str:
    """The strings no catalog of `language` has yet, as .po entries to translate and add
    to the fragment of their area (`--missing vi`)."""
    from babel.messages.pofile import escape

    try:
        catalog = merged(language)
    except CatalogError:
        catalog = Catalog(locale=language)
    return "".join(f'msgid {escape(m)}\nmsgstr ""\n\n' for m in sorted(extracted()) if catalog.get(m) is None)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--missing"]:
        print(missing_as_po(argv[1] if len(argv) > 1 else "vi"), end="")
        return 0
    try:
        counts = build()
        if "--check" in argv:
            missing = {language: untranslated(language) for language in languages()}
            if any(missing.values()):
                for language, ids in missing.items():
                    for message in ids:
                        print(f"{language}: not translated: {message!r}", file=sys.stderr)
                return 1
    except CatalogError as exc:
        print(f"portal catalogs: {exc}", file=sys.stderr)
        return 1
    print("portal catalogs: " + ", ".join(f"{lang} {n} messages" for lang, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
