"""Copy the reference screenshots the README shows from the browser tests' full-page shots
(build/screenshots/), cropped to the first screens and reduced to a palette to stay small.

Run with `make screenshots` (which runs the browser tests first) after a change of design."""

from __future__ import annotations

from PIL import Image

from tests.conftest import ROOT

SOURCE = ROOT / "build" / "screenshots"
TARGET = ROOT / "docs" / "screenshots"
REFERENCES = {  # name in docs/: (shot, height kept)
    "email-phone.png": ("example-email-375-light.png", 1500),
    "email-phone-dark.png": ("raw-html-email-375-dark.png", 1700),
    "email-desktop.png": ("example-email-800-light.png", 1300),
    "page-phone.png": ("tables-page-375-light.png", 1500),
    "page-desktop-dark.png": ("example-page-800-dark.png", 1100),
}


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, (shot, height) in REFERENCES.items():
        with Image.open(SOURCE / shot) as image:
            cropped = image.convert("RGB").crop((0, 0, image.width, min(height, image.height)))
            cropped.quantize(colors=128, dither=Image.Dither.NONE).save(TARGET / name, optimize=True)
        print(TARGET / name)


if __name__ == "__main__":
    main()
