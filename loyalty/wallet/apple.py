"""The Apple Wallet store card: pass.json, its images, manifest.json (SHA-1 of every file) and ``signature``, a
detached PKCS#7 (DER) of the manifest signed with the shop's pass certificate, carrying Apple's WWDR
intermediate, zipped as a .pkpass. Signed in process with ``cryptography`` (no openssl subprocess)."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import struct
import zipfile
import zlib
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from .config import AppleConfig

CONTENT_TYPE = "application/vnd.apple.pkpass"
BRAND_RGB = (0x1F, 0x3B, 0x57)  # the card page's theme colour


def _png(size: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain square PNG (Wallet requires an icon; a flat one in the card's colour is enough for the lock screen)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b"")
    )


@functools.cache
def _images() -> dict[str, bytes]:
    return {
        "icon.png": _png(29, BRAND_RGB),
        "icon@2x.png": _png(58, BRAND_RGB),
        "logo.png": _png(50, BRAND_RGB),
        "logo@2x.png": _png(100, BRAND_RGB),
    }


def manifest(files: dict[str, bytes]) -> bytes:
    return json.dumps({name: hashlib.sha1(data).hexdigest() for name, data in sorted(files.items())}).encode()  # noqa: S324 (Apple's manifest format is SHA-1)


def sign(data: bytes, config: AppleConfig) -> bytes:
    """A detached PKCS#7 signature (DER) of ``data`` by the pass certificate, with the WWDR intermediate."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(data)
        .add_signer(config.certificate, config.key, hashes.SHA256())
        .add_certificate(config.wwdr)
        .sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )


def pkpass(pass_json: dict[str, Any], config: AppleConfig) -> bytes:
    files = {"pass.json": json.dumps(pass_json, ensure_ascii=False).encode(), **_images()}
    files["manifest.json"] = manifest(files)
    files["signature"] = sign(files["manifest.json"], config)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
