"""The review's Markdown read once: tokens (CommonMark, tables, footnotes, emoji shortcodes),
then its sections, blocks and inline spans, and a summary when the writer gave none."""
from __future__ import annotations

import html as html_lib

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from pipeline.source.document import Block, Section, Span
from pipeline.source.rawhtml import read_html
from pipeline.textutil import FEED_DESCRIPTION_LIMIT, shorten, split_sentences


def markdown() -> MarkdownIt:
    return (MarkdownIt("commonmark", {"html": True, "typographer": False})
            .enable(["table", "strikethrough"]).use(footnote_plugin))


def emoji_shortcodes(tokens) -> None:
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
    if not kept:                                     # one endless sentence: cut at a word
        return shorten(summary, FEED_DESCRIPTION_LIMIT // 4), 0
    return " ".join(kept), len(kept)


def derive_summary(sections: tuple[Section, ...]) -> str:
    for section in sections:
        for block in section.blocks:
            if block.kind in ("paragraph", "quote") and block.text:
                summary = ""
                for sentence in split_sentences(block.text):
                    if summary and len(summary) + len(sentence) > 280:
                        break
                    summary = f"{summary} {sentence}".strip()
                return shorten(summary, 400)
    return ""


def _inline_spans(token) -> tuple[Span, ...]:
    spans: list[Span] = []
    href: str | None = None
    for child in token.children or ():
        kind = child.type
        if kind == "link_open":
            href = child.attrGet("href")
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


def structure(tokens) -> tuple[tuple[Section, ...], tuple[Block, ...]]:
    sections: list[Section] = []
    current_title, current_level, blocks = None, 0, []
    footnotes: list[Block] = []
    stack: list[str] = []            # open containers: bullet, ordered, item, quote, table, footnote
    counters: list[int] = []         # ordinal of the current item per ordered list
    row: list[Span] = []
    heading = False
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
        elif kind in ("bullet_list_open", "ordered_list_open"):
            stack.append("ordered" if kind.startswith("ordered") else "bullet")
            counters.append(int(token.attrGet("start") or 1) - 1)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            stack.pop()
            counters.pop()
        elif kind == "list_item_open":
            stack.append("item")
            counters[-1] += 1
        elif kind in ("list_item_close", "blockquote_close", "table_close", "footnote_close"):
            stack.pop()
        elif kind in ("blockquote_open", "table_open", "footnote_open"):
            stack.append({"blockquote_open": "quote", "table_open": "table"}.get(kind, "footnote"))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row:
            blocks.append(Block("table_row", tuple(row)))
        elif kind == "inline":
            spans = _inline_spans(token)
            if heading:
                if current_title is not None or blocks:
                    sections.append(Section(current_title, current_level, tuple(blocks)))
                current_title = " ".join(token.content.split()) or None
                current_level = int(token.tag[1]) if token.tag.startswith("h") else 2
                blocks = []
                heading = False
                continue
            if "table" in stack:
                if row:
                    row.append(Span(" | "))
                row.extend(spans)
                continue
            if not "".join(s.text for s in spans).strip() and not any(s.kind == "image" for s in spans):
                continue
            block = _block_for(spans, stack, counters)
            (footnotes if "footnote" in stack else blocks).append(block)
        elif kind in ("fence", "code_block") and token.content.strip():
            blocks.append(Block("code", (Span(token.content.rstrip("\n"), None, "code"),)))
        elif kind == "html_block":
            for piece in read_html(token.content):
                spans = tuple(Span(text, href, span_kind) for text, href, span_kind in piece.runs)
                if piece.kind == "heading":
                    if current_title is not None or blocks:
                        sections.append(Section(current_title, current_level, tuple(blocks)))
                    current_title, current_level, blocks = " ".join(Block("", spans).text.split()), piece.level, []
                    continue
                depth = sum(1 for c in stack if c in ("bullet", "ordered")) + (piece.kind == "list_item")
                blocks.append(Block(piece.kind, spans, depth))
    sections.append(Section(current_title, current_level, tuple(blocks)))
    return tuple(s for s in sections if s.title or s.blocks), tuple(footnotes)


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
