#!/usr/bin/python3
"""Decode colour photos to raw planar RGB of one size (for MNIST-M-style blends).

Usage: /usr/bin/python3 decode_photos.py OUT_BIN HEIGHT WIDTH PHOTO...

OUT_BIN receives, for each photo in order, 3 planes (R, G, B) of HEIGHT x WIDTH
uint8 pixels; each photo is resized to that size with a Lanczos filter.
"""
import sys

from PIL import Image


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    out_path, h, w, photos = argv[1], int(argv[2]), int(argv[3]), argv[4:]
    with open(out_path, "wb") as out:
        for path in photos:
            img = Image.open(path).convert("RGB").resize((w, h), Image.LANCZOS)
            for band in img.split():
                out.write(band.tobytes())
    print(f"decoded {len(photos)} photos to {h}x{w}")


if __name__ == "__main__":
    main(sys.argv)
