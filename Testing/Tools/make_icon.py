"""Draw FAExport's 128x128 RGBA icon from an axial slice of the demo FA map ``dipy_small_FA.nii.gz``.

The icon is a rounded dark tile holding the FA slice (smoothly upsampled, magma colormap, FA 0..1) and a badge
with an export arrow and "DICOM". It is written to ``FAExport.png`` at the repository root (the extension's
icon) and to ``FAExport/Resources/Icons/FAExport.png`` (the module's icon), identical files.

Rerun it from the repository root with any Python that has numpy, nibabel, matplotlib and Pillow (the
project's .venv made by Testing/run.py has them)::

    .venv/bin/python Testing/Tools/make_icon.py
"""

from pathlib import Path

import matplotlib as mpl
import nibabel as nib
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

REPO = Path(__file__).resolve().parents[2]
FA_MAP = REPO / "Testing" / "Data" / "dipy_small_FA.nii.gz"
OUTPUTS = [REPO / "FAExport.png", REPO / "FAExport" / "Resources" / "Icons" / "FAExport.png"]
AXIAL_SLICE = 9  # k index; the map's axes are (P, L, S), so k is the axial direction

SIZE = 128
SS = 4  # supersampling factor: draw at 512 px, then downsample for clean anti-aliased edges
COLORMAP = "magma"


def px(value):
    """Scale a coordinate given in final-icon pixels to the supersampled canvas."""
    return round(value * SS)


def font(size):
    """Return matplotlib's bundled DejaVu Sans Bold at ``size`` final-icon pixels (same glyphs everywhere)."""
    path = Path(mpl.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), px(size))


def rounded_mask(size, box, radius):
    """Return an 'L' mask of ``size`` with a filled rounded rectangle."""
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle(box, radius=radius, fill=255)
    return mask


def vertical_gradient(size, top, bottom):
    """Return an RGBA image of ``size`` fading from colour ``top`` to ``bottom``."""
    width, height = size
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    rows = (1 - t) * np.array(top, dtype=float) + t * np.array(bottom, dtype=float)
    return Image.fromarray(np.repeat(rows, width, axis=1).round().astype(np.uint8), "RGBA")


def fa_slice_image(side):
    """Return the axial FA slice as an RGBA image of ``side`` x ``side`` pixels, radiological orientation.

    Rows run anterior to posterior (i) and columns patient right to left (j), as Slicer shows an axial view.
    """
    fa = nib.load(FA_MAP).get_fdata(dtype=np.float32)[:, :, AXIAL_SLICE]
    smooth = Image.fromarray(np.ascontiguousarray(fa), "F").resize((side, side), Image.Resampling.BICUBIC)
    values = np.clip(np.asarray(smooth), 0.0, 1.0)
    rgba = mpl.colormaps[COLORMAP](values, bytes=True)
    # Bicubic interpolation of 10 voxels leaves faint plateaus at each voxel; a blur of a quarter voxel
    # (after colour mapping, so Pillow can do it) rounds them off.
    return Image.fromarray(rgba, "RGBA").filter(ImageFilter.GaussianBlur(side / fa.shape[0] * 0.25))


def drop_shadow(mask, offset, blur, opacity):
    """Return an RGBA black shadow of ``mask`` moved by ``offset`` and blurred."""
    shadow_alpha = ImageChops.offset(mask, *offset).filter(ImageFilter.GaussianBlur(blur))
    shadow_alpha = shadow_alpha.point(lambda a: round(a * opacity))
    shadow = Image.new("RGBA", mask.size, (0, 0, 0, 255))
    shadow.putalpha(shadow_alpha)
    return shadow


def draw_icon():
    """Compose the icon and return it as a 128x128 RGBA image."""
    canvas_size = (px(SIZE), px(SIZE))
    canvas = Image.new("RGBA", canvas_size, (0, 0, 0, 0))

    # Tile: rounded square with a deep blue-slate gradient and a thin light rim.
    tile_box = (px(4), px(3), px(124), px(123))
    tile_mask = rounded_mask(canvas_size, tile_box, px(24))
    canvas.alpha_composite(drop_shadow(tile_mask, (0, px(1)), px(1.5), 0.4))
    tile = vertical_gradient(canvas_size, (44, 62, 86, 255), (17, 25, 38, 255))
    canvas.paste(tile, (0, 0), tile_mask)
    ImageDraw.Draw(canvas).rounded_rectangle(tile_box, radius=px(24), outline=(255, 255, 255, 60), width=px(1))

    # FA slice in a rounded frame, upper left.
    left, top, side = 13, 13, 86
    slice_box = (px(left), px(top), px(left + side), px(top + side))
    slice_mask = rounded_mask(canvas_size, slice_box, px(12))
    canvas.alpha_composite(drop_shadow(slice_mask, (0, px(1.5)), px(2.5), 0.6))
    layer = Image.new("RGBA", canvas_size, (0, 0, 0, 0))
    layer.paste(fa_slice_image(px(side)), (px(left), px(top)))
    canvas.paste(layer, (0, 0), slice_mask)
    ImageDraw.Draw(canvas).rounded_rectangle(slice_box, radius=px(12), outline=(255, 255, 255, 110), width=px(1))

    # "FA" label on the slice, white on a soft dark halo so it reads on bright and dark voxels alike.
    label_at = (px(left + 7), px(top + 5))
    halo = Image.new("L", canvas_size, 0)
    ImageDraw.Draw(halo).text(label_at, "FA", font=font(15), fill=255, anchor="la", stroke_width=px(1))
    canvas.alpha_composite(drop_shadow(halo, (0, px(0.5)), px(1.6), 0.85))
    ImageDraw.Draw(canvas).text(label_at, "FA", font=font(15), fill=(255, 255, 255, 255), anchor="la")

    # DICOM badge, lower right, overlapping the slice's corner, with an export arrow before the word.
    badge_box = (px(46), px(92), px(121), px(118))
    badge_mask = rounded_mask(canvas_size, badge_box, px(7))
    canvas.alpha_composite(drop_shadow(badge_mask, (0, px(1.5)), px(2), 0.6))
    badge = vertical_gradient(canvas_size, (255, 255, 255, 255), (220, 229, 240, 255))
    canvas.paste(badge, (0, 0), badge_mask)
    draw = ImageDraw.Draw(canvas)
    arrow = (233, 111, 32, 255)
    mid = 105
    draw.rectangle((px(51), px(mid - 2.2), px(58), px(mid + 2.2)), fill=arrow)
    draw.polygon([(px(56.5), px(mid - 6.5)), (px(64), px(mid)), (px(56.5), px(mid + 6.5))], fill=arrow)
    draw.text((px(92.5), px(mid + 0.5)), "DICOM", font=font(12.5), fill=(22, 52, 96, 255), anchor="mm")

    return canvas.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main():
    """Draw the icon and write both copies."""
    icon = draw_icon()
    for output in OUTPUTS:
        output.parent.mkdir(parents=True, exist_ok=True)
        icon.save(output, optimize=True)
        print(f"wrote {output} ({output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
