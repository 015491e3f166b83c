"""SVG elements that are escaped by construction.

`element` writes one tag: every attribute value and every text child is
escaped, and only `Markup` (another element, or a template's output) passes
through as it is. A chart is built from these calls alone, so no label,
unit name or tooltip can break out of the SVG, whoever wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

Child = Markup | str | int | float | None | Iterable["Child"]


def _attribute(value: object) -> str:
    """Coordinates to two decimals at most (no "-0"); everything else as text."""
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def _children(children: Iterable[Child]) -> Iterable[Markup]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, Markup):
            yield child
        elif isinstance(child, str | int | float):
            yield escape(str(child))
        else:
            yield from _children(child)


def element(tag: str, *children: Child, **attributes: object) -> Markup:
    """`<tag a="…">children</tag>`; `class_` is class, `stroke_width` is stroke-width.

    An attribute whose value is None is left out; an element without
    children closes itself.
    """
    attrs = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(_attribute(value))}"'
        for name, value in attributes.items()
        if value is not None
    )
    inner = Markup("").join(_children(children))
    if not inner:
        return Markup(f"<{tag}{attrs}/>")
    return Markup(f"<{tag}{attrs}>") + inner + Markup(f"</{tag}>")


def chart(css_class: str, width: float, height: float, label: str, *children: Child) -> Markup:
    """An inline chart that scales with its container (viewBox); `label` is read out and
    shown as its tooltip."""
    return element(
        "svg",
        element("title", label),
        *children,
        class_=css_class,
        viewBox=f"0 0 {_attribute(float(width))} {_attribute(float(height))}",
        width=width,
        height=height,
        role="img",
        aria_label=label,
    )


def text_width(text: str, size: float = 11.0) -> float:
    """Roughly how wide `text` is drawn at `size` px in a sans-serif face: for layout only."""
    return len(text) * size * 0.56
