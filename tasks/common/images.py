"""Image files as the predictors of every task read them (``tasks.classification.predict``,
``tasks.detection.predict``): one decoder, one set of one-line errors.

Anything PIL decodes (PNG, JPEG, BMP, GIF, TIFF, WebP; any colour mode) becomes 8-bit grey or RGB: 16-bit grey images
are scaled to 8 bits (PIL's own conversion would clip them at 255), alpha is dropped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np

from .cli import first_line

__all__ = ["IMAGE_SUFFIXES", "decode_image"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_16_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_MODES = ("L", "RGB")


def decode_image(path: Path, mode: str = "RGB") -> Tuple[np.ndarray, Dict[str, Any]]:
    """Decode ``path`` -> uint8 ``[H, W]`` (``mode='L'``, grey) or ``[H, W, 3]`` (``'RGB'``), and what the file held:
    ``image_size`` ``[width, height]`` and ``image_mode`` (PIL's mode name). A file PIL cannot decode (another kind
    of file, truncated or damaged image data) raises ``ValueError`` with one line."""
    from PIL import Image, UnidentifiedImageError

    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    try:
        with Image.open(path) as image:
            image.load()
            info = dict(image_size=list(image.size), image_mode=image.mode)
            if image.mode in _16_BIT_MODES:  # PIL would clip 16-bit values to 255 instead of scaling them
                image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8), "L")
            array = np.asarray(image.convert(mode))
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image PIL can decode (corrupt, or another kind of file)") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or damaged image data
        raise ValueError(f"{path}: cannot decode the image ({first_line(err)}); the file is truncated or corrupt") \
            from None
    return array, info
