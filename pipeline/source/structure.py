"""The review's Markdown read once: tokens (CommonMark, tables, footnotes, emoji shortcodes),
then its sections, blocks and inline spans, and a summary when the writer gave none."""

from __future__ import annotations

import html as html_lib

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from pipeline.source.document import Block, Section, Span
from pipeline.source.rawhtml import read_html
from pipeline.textutil import FEED_DESCRIPTION_LIMIT, shorten, split_sentences


def markdown() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": True, "typographer": False})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin)
    )


def emoji_shortcodes(tokens: list[Token]) -> None:
    """`:tada:` as the emoji it names, in text only (never in code): blogs write them for
    Jekyll's jemoji or Hugo's enableEmoji. The narration leaves emoji unsaid."""
    import emoji

    for token in tokens:
        for child in token.children or ():
            if child.type == "text" and ":" in child.content:
                child.content = emoji.emojize(child.content, language="alias")


def fit_summary(summary: str) -> tuple[str, int]:
    """The summary's first whole sentences that fit the feed's limit (escaped, in bytes)."""
    kept: list[str] = []
    for sentence in split_sentences(summary):
        if len(html_lib.escape(" ".join([*kept, sentence]), quote=False).encode()) > FEED_DESCRIPTION_LIMIT - 4:
            break
        kept.append(sentence)
    if not kept:  # one endless sentence: cut at a word
        return shorten(summary, FEED_DESCRIPTION_LIMIT // 4), 0
    return " ".join(kept), len(kept)


def is_prose(block: Block) -> bool:
    """A paragraph or quote with words of its own: not one that is only a link (an embed made
    a link, "Watch the trailer"), which says nothing of the review."""
    if block.kind not in ("paragraph", "quote") or not block.text:
        return False
    return any(span.href is None and span.text.strip() for span in block.spans)


def derive_summary(sections: tuple[Section, ...]) -> str:
    for section in sections:
        for block in section.blocks:
            if is_prose(block):
                summary = ""
                for sentence in split_sentences(block.text):
                    if summary and len(summary) + len(sentence) > 280:
                        break
                    summary = f"{summary} {sentence}".strip()
                return shorten(summary, 400)
    return ""


def _inline_spans(token: Token) -> tuple[Span, ...]:
    spans: list[Span] = []
    href: str | None = None
    for child in token.children or ():
        kind = child.type
        if kind == "link_open":
            found = child.attrGet("href")
            href = str(found) if found is not None else None
        elif kind == "link_close":
            href = None
        elif kind == "text":
            spans.append(Span(child.content, href))
        elif kind in ("softbreak", "hardbreak"):
            spans.append(Span(" ", href))
        elif kind == "code_inline":
            spans.append(Span(child.content, href, "code"))
        elif kind == "image":
            alt = "".join(c.content for c in child.children or ()) or child.content
            spans.append(Span(alt, href, "image"))
        elif kind == "html_inline":
            continue
    merged: list[Span] = []
    for span in spans:
        if merged and merged[-1].href == span.href and merged[-1].kind == span.kind == "text":
            merged[-1] = Span(merged[-1].text + span.text, span.href)
        else:
            merged.append(span)
    return tuple(merged)


def structure(tokens: list[Token]) -> tuple[tuple[Section, ...], tuple[Block, ...]]:
    """The review's sections (a heading and the blocks under it) and its footnotes."""
    reader = _StructureReader()
    for token in tokens:
        reader.read(token)
    return reader.result()


# Containers a token opens or closes: bullet and ordered lists, list items, quotes, tables, footnotes.
_OPENS = {
    "bullet_list_open": "bullet",
    "ordered_list_open": "ordered",
    "list_item_open": "item",
    "blockquote_open": "quote",
    "table_open": "table",
    "footnote_open": "footnote",
}
_CLOSES = {
    "bullet_list_close",
    "ordered_list_close",
    "list_item_close",
    "blockquote_close",
    "table_close",
    "footnote_close",
}


class _StructureReader:
    """markdown-it's flat token stream read once, keeping the open containers on a stack."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.title: str | None = None
        self.level = 0
        self.blocks: list[Block] = []
        self.footnotes: list[Block] = []
        self.stack: list[str] = []  # open containers, innermost last
        self.counters: list[int] = []  # ordinal of the current item per open list
        self.row: list[Span] = []
        self.heading = False

    def read(self, token: Token) -> None:
        kind = token.type
        if kind in _OPENS:
            self.stack.append(_OPENS[kind])
            if kind in ("bullet_list_open", "ordered_list_open"):
                self.counters.append(int(token.attrGet("start") or 1) - 1)
            elif kind == "list_item_open":
                self.counters[-1] += 1
        elif kind in _CLOSES:
            self.stack.pop()
            if kind in ("bullet_list_close", "ordered_list_close"):
                self.counters.pop()
        elif kind in ("heading_open", "heading_close"):
            self.heading = kind == "heading_open"
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close" and self.row:
            self.blocks.append(Block("table_row", tuple(self.row)))
        elif kind == "inline":
            self._inline(token)
        elif kind in ("fence", "code_block") and token.content.strip():
            self.blocks.append(Block("code", (Span(token.content.rstrip("\n"), None, "code"),)))
        elif kind == "html_block":
            self._html(token.content)

    def _new_section(self, title: str | None, level: int) -> None:
        if self.title is not None or self.blocks:
            self.sections.append(Section(self.title, self.level, tuple(self.blocks)))
        self.title, self.level, self.blocks = title, level, []

    def _inline(self, token: Token) -> None:
        spans = _inline_spans(token)
        if self.heading:
            self._new_section(
                " ".join(token.content.split()) or None, int(token.tag[1]) if token.tag.startswith("h") else 2
            )
            self.heading = False
        elif "table" in self.stack:
            if self.row:
                self.row.append(Span(" | "))
            self.row.extend(spans)
        elif "".join(s.text for s in spans).strip() or any(s.kind == "image" for s in spans):
            block = _block_for(spans, self.stack, self.counters)
            (self.footnotes if "footnote" in self.stack else self.blocks).append(block)

    def _html(self, content: str) -> None:
        for piece in read_html(content):
            spans = tuple(Span(text, href, span_kind) for text, href, span_kind in piece.runs)
            if piece.kind == "heading":
                self._new_section(" ".join(Block("", spans).text.split()), piece.level)
                continue
            depth = sum(1 for c in self.stack if c in ("bullet", "ordered")) + (piece.kind == "list_item")
            self.blocks.append(Block(piece.kind, spans, depth))

    def result(self) -> tuple[tuple[Section, ...], tuple[Block, ...]]:
        sections = [*self.sections, Section(self.title, self.level, tuple(self.blocks))]
        return tuple(s for s in sections if s.title or s.blocks), tuple(self.footnotes)


def _block_for(spans: tuple[Span, ...], stack: list[str], counters: list[int]) -> Block:
    depth = sum(1 for c in stack if c in ("bullet", "ordered"))
    innermost = next((c for c in reversed(stack) if c in ("item", "quote")), None)
    if all(s.kind == "image" or not s.text.strip() for s in spans):
        return Block("image", spans, depth)
    if innermost == "item":
        lists = [c for c in stack if c in ("bullet", "ordered")]
        ordinal = counters[-1] if lists and lists[-1] == "ordered" else None
        return Block("list_item", spans, depth, ordinal)
    if innermost == "quote":
        return Block("quote", spans, depth)
    return Block("paragraph", spans, depth)
