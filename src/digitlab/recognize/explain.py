"""``--explain``: files that show what the model saw: the 28x28 inputs, the digit boxes, the scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .image_io import load_image
from .predictor import Answer


def safe_stem(label: str) -> str:
    """A file-name stem from a source label that cannot leave the output folder."""
    stem = Path(label).stem or "stdin"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80]


def write_explanation(answer: Answer, source: str | Path | bytes, out_dir: Path) -> list[Path]:
    """Write ``<stem>-boxes.png``, ``<stem>-digit<i>.png`` (28x28, shown 8x) and ``<stem>-scores.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(answer.source)
    written = []
    gray = load_image(source)
    page = Image.fromarray((gray * 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(page)
    width = max(1, max(page.size) // 300)
    for i, d in enumerate(answer.digits):
        if d.box:
            draw.rectangle(d.box, outline=(0, 170, 0) if d.accepted else (220, 0, 0), width=width)
            draw.text((d.box[0] + 2, d.box[1] + 2), d.label if d.accepted else "?", fill=(0, 90, 255))
        if d.image is not None:
            big = Image.fromarray((np.clip(d.image, 0, 1) * 255).astype(np.uint8)).resize((224, 224), Image.Resampling.NEAREST)
            written.append(out_dir / f"{stem}-digit{i}.png")
            big.save(written[-1])
    written.append(out_dir / f"{stem}-boxes.png")
    page.save(written[-1])
    written.append(out_dir / f"{stem}-scores.json")
    written[-1].write_text(json.dumps(answer.to_dict(), indent=2))
    return written
