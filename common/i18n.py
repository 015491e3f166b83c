"""Danish and English text for practice-facing output.

Danish is the default because the people reading it are Danish GPs; English is
one `--lang en` away. Messages live in one table so a translator can review
them side by side, and a missing translation is a test failure, not a blank.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Literal

Lang = Literal["da", "en"]
LANGS: tuple[Lang, ...] = ("da", "en")
DEFAULT_LANG: Lang = "da"

_MESSAGES: dict[str, dict[Lang, str]] = {}


def register(messages: dict[str, dict[Lang, str]]) -> None:
    """Add a module's messages; every key must have every language."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGS if lang not in texts]
        if missing:
            raise ValueError(f"message {key!r} lacks {missing}")
        if key in _MESSAGES and _MESSAGES[key] != texts:
            raise ValueError(f"message {key!r} registered twice with different text")
        _MESSAGES[key] = texts


_override: Lang | None = None


def set_lang(lang: Lang | None) -> None:
    """The language chosen on the command line for this invocation (None: use the env)."""
    global _override
    _override = lang


def current_lang() -> Lang:
    if _override is not None:
        return _override
    lang = os.environ.get("KLYNGE_LANG", DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: Lang | None = None, **values: object) -> str:
    """The message `key` in `lang`, formatted with `values`."""
    texts = _MESSAGES[key]
    return texts[lang or current_lang()].format(**values)


def speaker(prefix: str) -> Callable[..., str]:
    """`say(key, **values)`: the message `<prefix>.<key>` in the reader's language, for a
    module whose messages share one prefix (one reader's table of errors)."""

    def say(key: str, **values: object) -> str:
        return t(f"{prefix}.{key}", None, **values)

    return say


def all_keys() -> list[str]:
    return sorted(_MESSAGES)


def _pattern(template: str) -> re.Pattern[str]:
    """A registered English template as a regex: each {field} captures any text."""
    parts = re.split(r"\{(\w+)(?:[^}]*)\}", template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts)
    )
    return re.compile(regex + r"\Z", re.S)


def reword(text: str, prefixes: tuple[str, ...], lang: Lang | None = None) -> str:
    """Recorded English `text` in `lang`, when it is one of the registered messages under
    `prefixes` (the fields, reworded in turn); unchanged otherwise.

    Stores and logs keep one language (English, what a reviewer of any reader can
    search); what a person reads is rendered in theirs.

    >>> register({"doc.reason": {"en": "{n} left", "da": "{n} tilbage"}})
    >>> reword("3 left", ("doc.",), "da")
    '3 tilbage'
    >>> reword("something else", ("doc.",), "da")
    'something else'
    """
    for key, texts in _MESSAGES.items():
        if not key.startswith(prefixes):
            continue
        match = _pattern(texts["en"]).match(text)
        if match is None:
            continue
        fields = {k: reword(v, prefixes, lang) for k, v in match.groupdict().items()}
        return texts[lang or current_lang()].format(**fields)
    return text
