"""Reading QR codes back with independent tools: zxing-cpp decodes, resvg and PDFium render."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2
import resvg_py
import zxingcpp
from PIL import Image

from qr.typeface import FONT_DIR

POINTS_PER_INCH = 72


def decode(picture: Image.Image) -> list[str]:
    """Return the texts of every QR code in the picture, sorted."""
    found = zxingcpp.read_barcodes(picture)
    return sorted(
        result.text
        for result in found
        if result.valid and result.format == zxingcpp.BarcodeFormat.QRCode
    )


def render_svg(path: Path, dpi: int) -> Image.Image:
    """Render an SVG file to pixels with resvg (no system fonts, no cairo)."""
    png = resvg_py.svg_to_bytes(
        svg_path=str(path),
        dpi=float(dpi),
        skip_system_fonts=True,
        font_dirs=[str(FONT_DIR)],
        background="#ffffff",
    )
    return Image.open(io.BytesIO(bytes(png))).convert("RGB")


def render_pdf(path: Path, dpi: int) -> tuple[Image.Image, tuple[float, float]]:
    """Render a PDF's only page at `dpi` with PDFium; return it and the page size in mm."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        assert len(document) == 1
        page = document[0]
        width, height = page.get_size()
        picture = page.render(scale=dpi / POINTS_PER_INCH).to_pil().convert("RGB")
    finally:
        document.close()
    to_mm = 25.4 / POINTS_PER_INCH
    return picture, (width * to_mm, height * to_mm)


def decode_file(path: Path, dpi: int = 300) -> list[str]:
    """Return the texts of the codes in a PNG, SVG or PDF file, rendered at `dpi`."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return decode(render_svg(path, dpi))
    if suffix == ".pdf":
        return decode(render_pdf(path, dpi)[0])
    with Image.open(path) as picture:
        return decode(picture.convert("RGB"))
