"""``facscope detect | align | regions | zoom``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facscope.cli.common import (
    DETECTOR_MODEL_OPT,
    DETECTOR_OPT,
    IMAGE_ARG,
    default_output,
    echo_json,
    load_input_image,
    pick_face,
)

FACE_OPT = click.option(
    "--face", "which", default="largest", show_default=True,
    help="'largest', a face index, or 'all' (one output per face, named <output>_face<i>).",
)  # fmt: skip
OUT_OPT = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output PNG/JPG path."
)


def _find(rgb: Any, detector: str, model: Path | None, check: bool) -> Any:
    from facscope.face.detect import detector_options
    from facscope.face.plausibility import find_faces

    options = detector_options(detector, None if model is None else str(model))
    return find_faces(rgb, detector=detector, check=check, **options)


def _faces(image: Path | None, which: str, detector: str, model: Path | None) -> tuple[Any, str, list[tuple[int, Any]]]:  # fmt: skip
    """The image, its name and the chosen ``(index, face)`` pairs (screened detections)."""
    from facscope.agent.analysis import select_faces

    rgb, name = load_input_image(image)
    faces = _find(rgb, detector, model, True).faces
    pick_face(faces, "largest", name)  # no face: one clear error
    return rgb, name, [(i, faces[i]) for i in select_faces(len(faces), which, name)]


def _output_for(output: Path, index: int, several: bool) -> Path:
    return output.with_name(f"{output.stem}_face{index}{output.suffix}") if several else output


@click.command()
@IMAGE_ARG
@DETECTOR_OPT
@DETECTOR_MODEL_OPT
@click.option("--face", "which", default="all", show_default=True,
              help="Faces to list: all, largest, or an index (0 = largest).")  # fmt: skip
@click.option("--no-check", is_flag=True, help="Keep detections that fail the face checks.")
@click.option("--json", "as_json", is_flag=True, help="Print faces as JSON.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save a picture of the detections.",
)
def detect(image: Path | None, detector: str, detector_model: Path | None, which: str,
           no_check: bool, as_json: bool, output: Path | None) -> None:  # fmt: skip
    """Detect faces: box, score, five landmarks and doubts (largest face first); detections
    that fail the face checks (facscope.face.plausibility) are listed as rejected."""
    from facscope.agent.analysis import select_faces

    rgb, name = load_input_image(image)
    found = _find(rgb, detector, detector_model, not no_check)
    chosen = [found.kept[i] for i in select_faces(len(found.kept), which, name)]
    if output is not None:
        from facscope.face.draw import draw_faces
        from facscope.io import save_image

        save_image(output, draw_faces(rgb, [c.face for c in chosen]))
    if as_json:
        echo_json({"image": name, "width": rgb.shape[1], "height": rgb.shape[0],
                   "count": len(found.kept), "faces": [c.to_dict() for c in chosen],
                   "rejected": [c.to_dict() for c in found.rejected]})  # fmt: skip
        return
    rejected = f", {len(found.rejected)} rejected" if found.rejected else ""
    click.echo(f"{name}: {len(found.kept)} face(s){rejected}")
    for i, c in enumerate(found.kept):
        if c not in chosen:
            continue
        b, f = c.face.box, c.face
        lm = "no landmarks" if f.landmarks is None else "5 landmarks"
        doubt = f" doubtful: {', '.join(c.doubts)}" if c.doubts else ""
        click.echo(
            f"  [{i}] box=({b.x1:.0f}, {b.y1:.0f}, {b.x2:.0f}, {b.y2:.0f}) score={f.score:.3f} {lm}{doubt}"
        )
    for c in found.rejected:
        b = c.face.box
        click.echo(
            f"  rejected box=({b.x1:.0f}, {b.y1:.0f}, {b.x2:.0f}, {b.y2:.0f}): {'; '.join(c.problems)}"
        )


@click.command()
@IMAGE_ARG
@OUT_OPT
@FACE_OPT
@DETECTOR_OPT
@click.option("--size", default=256, show_default=True, help="Side of the aligned face in pixels.")
def align(image: Path | None, output: Path | None, which: str, detector: str, size: int) -> None:
    """Align a face to the canonical five-point template and save it."""
    from facscope.face import align_face
    from facscope.io import save_image

    rgb, _, chosen = _faces(image, which, detector, None)
    for i, face in chosen:
        aligned = align_face(rgb, face, size=size)
        dest = _output_for(output or default_output(image, "aligned"), i, len(chosen) > 1)
        out = save_image(dest, aligned.image)
        note = " (approximate: the detector gave no landmarks)" if aligned.approximate else ""
        click.echo(f"aligned face {i} written to {out}{note}")


@click.command()
@IMAGE_ARG
@OUT_OPT
@FACE_OPT
@DETECTOR_OPT
def regions(image: Path | None, output: Path | None, which: str, detector: str) -> None:
    """Draw the canonical facial regions on the image."""
    from facscope.face import align_face
    from facscope.face.draw import draw_regions
    from facscope.io import save_image

    rgb, _, chosen = _faces(image, which, detector, None)
    for i, face in chosen:
        dest = _output_for(output or default_output(image, "regions"), i, len(chosen) > 1)
        out = save_image(dest, draw_regions(rgb, align_face(rgb, face)))
        click.echo(f"regions of face {i} drawn on {out}")


@click.command("zoom")
@IMAGE_ARG
@click.option("--region", help="Canonical region name (see --list-regions).")
@click.option("--box", help="A box x1,y1,x2,y2 in image pixels instead of a region.")
@click.option("--scale", default=1.0, show_default=True, help="Context factor around the region.")
@click.option("--size", default=224, show_default=True, help="Longer side of the zoomed image.")
@OUT_OPT
@FACE_OPT
@DETECTOR_OPT
@click.option(
    "--json", "as_json", is_flag=True, help="Print the zoom's box in image pixels as JSON."
)
@click.option("--list-regions", is_flag=True, help="List the region names and exit.")
def zoom_cmd(
    image: Path | None,
    region: str | None,
    box: str | None,
    scale: float,
    size: int,
    output: Path | None,
    which: str,
    detector: str,
    as_json: bool,
    list_regions: bool,
) -> None:
    """Zoom into a facial region (or a box) at full resolution and save the crop."""
    from facscope.errors import ConfigError
    from facscope.face import REGION_NAMES, align_face, detect_faces, zoom
    from facscope.io import save_image
    from facscope.types import View

    if list_regions:
        click.echo("\n".join(REGION_NAMES))
        return
    if (region is None) == (box is None):
        raise ConfigError("give exactly one of --region NAME or --box x1,y1,x2,y2")
    rgb, name = load_input_image(image)
    if region is not None:
        face = pick_face(detect_faces(rgb, detector=detector), which, name)
        view = zoom(align_face(rgb, face).view, region, scale=scale, size=size)
    else:
        view = zoom(View.of(rgb), box.split(","), scale=scale, size=size)
    out = save_image(output or default_output(image, f"zoom_{region or 'box'}"), view.image)
    if as_json:
        echo_json(
            {
                "image": name,
                "region": region,
                "box": view.box_in_source().to_list(),
                "quad": [[round(x, 2), round(y, 2)] for x, y in view.corners_in_source()],
                "scale": scale,
                "output": str(out),
                "size": list(view.size),
            }
        )
    else:
        click.echo(f"zoom of {region or 'box'} written to {out}")
