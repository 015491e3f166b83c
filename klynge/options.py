"""What several commands accept the same way: the --lang option."""

from __future__ import annotations

import typer

from common.i18n import LANGS, Lang, current_lang, t
from klynge import help_text  # noqa: F401  (registers cli.bad.*)


def language(value: str | None) -> Lang | None:
    """The language `--lang VALUE` names (None when not given); a bad one is a usage error."""
    if value is None:
        return None
    for lang in LANGS:
        if value == lang:
            return lang
    raise typer.BadParameter(t("cli.bad.either", a="'da'", b="'en'"), param_hint="--lang")


def chosen_language(value: str | None) -> Lang:
    """A command's own --lang, else the one `klynge --lang` or KLYNGE_LANG chose."""
    return language(value) or current_lang()
