"""A small HTML smoke check: lang, one h1, labelled inputs, no inline script, well nested."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
SVG_SELF_CLOSING = {"rect", "path", "circle", "line"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.h1 = 0
        self.lang: str | None = None
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, str | None]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "label" and a.get("for"):
            self.label_for.add(str(a["for"]))
        if tag == "script" and "src" not in a:
            self.problems.append("inline script")
        if any(k.startswith("on") for k in a):
            self.problems.append(f"inline event handler on <{tag}>")
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            self.controls.append((tag, a.get("id")))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID and tag not in SVG_SELF_CLOSING:
            self.problems.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def problems(html: str) -> list[str]:
    c = _Collector()
    c.feed(html)
    c.close()
    out = list(c.problems)
    if not html.lstrip().lower().startswith("<!doctype html>"):
        out.append("no doctype")
    if c.lang != "zh-CN":
        out.append(f"lang={c.lang!r}")
    if c.h1 != 1:
        out.append(f"{c.h1} h1 elements")
    for tag, ident in c.controls:
        if not ident or ident not in c.label_for:
            out.append(f"<{tag} id={ident!r}> has no label")
    dupes = {i for i in c.ids if c.ids.count(i) > 1}
    if dupes:
        out.append(f"duplicate ids {sorted(dupes)}")
    if c.stack:
        out.append(f"unclosed {c.stack}")
    return out
