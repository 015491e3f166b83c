"""The page shell: Jinja2 templates with autoescaping, one CSS, one file per report.

Every value a template prints is escaped unless it is `Markup` (a chart
built by `reporting.charts`, or a macro's output), so escaping cannot be
forgotten in one place. The CSS is inlined and nothing is fetched.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from common.formatting import integer
from common.i18n import Lang, t


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name is an error, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(template: str, *, lang: Lang, title: str, **context: Any) -> str:
    """One self-contained HTML page from `templates/<template>`. In it, `t(key, **values)`
    is a message and `integer(n)` a count, both in the page's language."""

    def text(key: str, **values: object) -> str:
        return t(key, lang, **values)

    def count(value: int) -> str:
        return integer(value, lang)

    page = environment().get_template(template)
    return page.render(lang=lang, title=title, t=text, integer=count, **context)
