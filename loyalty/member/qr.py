"""QR codes rendered on the server as SVG (segno), in a data: URI an <img> shows: no script, no inline style
(the Content-Security-Policy allows images from data:)."""

from __future__ import annotations

import functools

import segno


@functools.lru_cache(maxsize=256)  # a card's QR changes only when it is reissued; drawing one costs a few ms
def qr_data_uri(text: str, *, scale: int = 8) -> str:
    return qr_svg_data_uri(text, scale=scale)


def qr_svg_data_uri(text: str, *, scale: int = 8) -> str:
    """Not cached: for texts drawn once (a short-lived link)."""
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=scale, border=2, dark="#000", light="#fff")
