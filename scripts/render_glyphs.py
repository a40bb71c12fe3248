#!/usr/bin/python3
"""Render the letters A-J of many fonts as 28x28 grayscale glyphs (notMNIST style).

Usage: /usr/bin/python3 render_glyphs.py FONT_LIST OUT_BIN OUT_JSON [--variants N]

FONT_LIST is a text file with one font path per line (TrueType or OpenType).
OUT_BIN receives, for each accepted font in order, N variants x 10 letters of
28x28 uint8 pixels (white glyph on black). OUT_JSON lists the accepted fonts
and the rejected ones with the reason. Variant 0 fits the glyph in a 24x24 box
centred in the image; variant 1 fits it in a 20x20 box shifted by up to 2
pixels (a fixed pattern, so the output is deterministic).

A font is rejected when it cannot be loaded, lacks one of the letters (empty
glyph or the same picture as its missing-glyph box), draws two letters alike
(symbol and dingbat fonts), or renders exactly like a font already accepted.
"""
import hashlib
import json
import sys

from PIL import Image, ImageDraw, ImageFont

LETTERS = "ABCDEFGHIJ"
SIZE = 28
CANVAS = 256
POINT = 96
MISSING = "\U0010fffd"  # a private-use code point no font draws as a letter
SHIFTS = [(-2, -1), (1, 2), (2, -2), (-1, 1), (0, -2), (-2, 2), (2, 0), (-1, -2), (1, 1), (0, 2)]


def glyph_canvas(font, ch):
    """The letter drawn large on a black canvas, cropped to its ink, or None when empty."""
    img = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(img).text((CANVAS // 2, CANVAS // 2), ch, fill=255, font=font, anchor="mm")
    box = img.getbbox()
    return None if box is None else img.crop(box)


def fit(glyph, box, dx, dy):
    """The cropped glyph scaled to fit a box x box square, pasted centred (+dx, +dy) in 28x28."""
    w, h = glyph.size
    scale = box / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = glyph.resize((nw, nh), Image.LANCZOS)
    out = Image.new("L", (SIZE, SIZE), 0)
    out.paste(small, ((SIZE - nw) // 2 + dx, (SIZE - nh) // 2 + dy))
    return out.tobytes()


def render_font(path, variants):
    """(bytes of variants x 10 glyphs, None) or (None, reason)."""
    try:
        font = ImageFont.truetype(path, POINT)
    except Exception as e:  # noqa: BLE001 - any load failure rejects the font
        return None, f"cannot load: {e}"
    glyphs = [glyph_canvas(font, ch) for ch in LETTERS]
    if any(g is None for g in glyphs):
        return None, "a letter has no ink"
    missing = glyph_canvas(font, MISSING)
    if missing is not None and any(g.tobytes() == missing.tobytes() for g in glyphs):
        return None, "a letter is the missing-glyph box"
    base = [fit(g, 24, 0, 0) for g in glyphs]
    if len(set(base)) < len(base):
        return None, "two letters render alike"
    out = list(base)
    for v in range(1, variants):
        for i, g in enumerate(glyphs):
            dx, dy = SHIFTS[(i + 3 * v) % len(SHIFTS)]
            out.append(fit(g, 20, dx, dy))
    return b"".join(out), None


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    variants = int(argv[argv.index("--variants") + 1]) if "--variants" in argv else 2
    paths = [p.strip() for p in open(argv[1], encoding="utf-8") if p.strip()]
    accepted, rejected, seen = [], [], {}
    with open(argv[2], "wb") as out:
        for path in paths:
            data, reason = render_font(path, variants)
            if data is not None:
                digest = hashlib.sha256(data[: SIZE * SIZE * len(LETTERS)]).hexdigest()
                if digest in seen:
                    data, reason = None, f"renders like {seen[digest]}"
                else:
                    seen[digest] = path
            if data is None:
                rejected.append({"path": path, "reason": reason})
                continue
            out.write(data)
            accepted.append(path)
    meta = {"letters": LETTERS, "size": SIZE, "variants": variants,
            "accepted": accepted, "rejected": rejected}
    with open(argv[3], "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    print(f"rendered {len(accepted)} fonts, rejected {len(rejected)}")


if __name__ == "__main__":
    main(sys.argv)
