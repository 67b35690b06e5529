"""The review's images: every source found (Markdown and raw HTML), and each one named by a
path checked to be a real, bounded image inside the site's folder, its bytes kept."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it.token import Token

from pipeline.errors import InputError, Problem
from pipeline.source.files import read_input_file
from pipeline.source.rawhtml import image_sources
from pipeline.textutil import sha256_of, slugify

IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # 8000×5000; more is a decompression bomb, not a photograph


@dataclass(frozen=True)
class LocalImage:
    """An image the review names by a path next to the issue file; published with the episode
    as `name` (content-addressed, so the key is safe and a changed image gets a new URL)."""

    ref: str
    path: Path
    name: str
    data: bytes = field(default=b"", repr=False, compare=False)  # the bytes checked: what is published


def image_refs(tokens: list[Token], body_line: int) -> list[tuple[str, int | None]]:
    """(src, line) of every image in the Markdown and its raw HTML."""
    refs: list[tuple[str, int | None]] = []
    for token in tokens:
        line = body_line + token.map[0] if token.map else None
        for child in [token, *(token.children or ())]:
            if child.type == "image":
                refs.append((child.attrGet("src") or "", line))
            elif child.type in ("html_block", "html_inline"):
                refs += [(src, line) for src in image_sources(child.content)]
    return refs


_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp|tiff?)$", re.IGNORECASE)
_SVG_PATH = re.compile(r"\.svgz?$", re.IGNORECASE)


def is_relative(ref: str) -> bool:
    return bool(ref) and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", ref)


def is_local(ref: str) -> bool:
    """A path to an image file next to the issue (it must exist); other relative sources
    (`src=x`) name nothing a reader could load and are dropped."""
    return is_relative(ref) and bool(_IMAGE_PATH.search(ref.split("#")[0].split("?")[0]))


def site_root(path: Path) -> Path:
    """The folder an issue's images must stay in: the folder the command runs in when the issue
    is inside it (a show's or a blog's own folder), else the issue's own folder."""
    here, folder = Path.cwd().resolve(), path.parent.resolve()
    return here if folder.is_relative_to(here) else folder


def local_images(path: Path, refs: list[tuple[str, int | None]]) -> tuple[LocalImage, ...]:
    """Images named by a path, resolved against the issue's folder (a site-absolute '/x.jpg'
    against the nearest folder above that has it), each checked to be a real image inside the
    site's folder (no '..' or link out of it) and of bounded size; its checked bytes are kept.
    Every image is checked before any problem is raised, so all are reported together."""
    root = site_root(path)
    found: dict[str, LocalImage] = {}
    problems: list[Problem] = []
    for ref, line in refs:
        if not is_local(ref) or ref in found:
            continue
        try:
            found[ref] = _local_image(path, ref, line, root)
        except InputError as exc:
            problems += exc.problems  # every image checked: all the missing ones told at once
    if problems:
        raise InputError(problems)
    return tuple(found.values())


def _local_image(path: Path, ref: str, line: int | None, root: Path) -> LocalImage:
    """One image named by a path, found and checked, or InputError saying why not."""
    from PIL import Image, UnidentifiedImageError

    relative = ref.split("#")[0].split("?")[0].lstrip("/")
    folder = path.parent.resolve()
    bases = [b for b in [folder, *folder.parents][: 4 if ref.startswith("/") else 1] if b.is_relative_to(root)]
    file = next((b / relative for b in bases if (b / relative).is_file()), None)
    if file is None:
        raise InputError.at(path, f"image '{ref}' not found (looked in {folder}/)", line)
    if not file.resolve().is_relative_to(root):
        raise InputError.at(
            path,
            f"image '{ref}' is outside the site's folder {root}/ (through '..' or a link); copy it into the site",
            line,
        )
    try:
        data = read_input_file(file, "image", MAX_IMAGE_BYTES)
        with Image.open(io.BytesIO(data)) as picture:
            extension = IMAGE_FORMATS.get(picture.format or "")
            width, height = picture.size
    except Image.DecompressionBombError:
        raise InputError.at(
            path,
            f"image '{ref}' declares more pixels than any photograph (a decompression "
            f"bomb); at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels",
            line,
        ) from None
    except (UnidentifiedImageError, OSError):
        extension, width, height = None, 0, 0
    if extension is None:
        raise InputError.at(path, f"image '{ref}' is not a JPEG, PNG, GIF or WebP image", line)
    if width * height > MAX_IMAGE_PIXELS:
        raise InputError.at(
            path,
            f"image '{ref}' is too large to show ({width}×{height} pixels); at most "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels",
            line,
        )
    stem = slugify(Path(relative).stem) or "image"
    digest = sha256_of(data)[:10]
    return LocalImage(ref, file, f"images/{stem[:40]}-{digest}{extension}", data)


def svg_warnings(path: Path, refs: list[tuple[str, int | None]]) -> list[Problem]:
    """An SVG named by a path is left out: email clients do not show it."""
    return [
        Problem(str(path), f"image '{ref}' is an SVG, which email clients do not show; left out (use a PNG)", line)
        for ref, line in refs
        if is_relative(ref) and _SVG_PATH.search(ref.split("#")[0].split("?")[0])
    ]
