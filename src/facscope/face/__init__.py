"""Face perception: detection, five-point alignment, canonical regions and zoomable views."""

from facscope.face.align import AlignedFace, align_face
from facscope.face.detect import (
    DETECTORS,
    create_detector,
    detect_faces,
    largest_face,
    list_detectors,
)
from facscope.face.regions import (
    AU_REGIONS,
    REGION_NAMES,
    REGIONS,
    TEMPLATE,
    region_box,
    regions_for_au,
)
from facscope.face.view import zoom

__all__ = [
    "AU_REGIONS",
    "DETECTORS",
    "REGIONS",
    "REGION_NAMES",
    "TEMPLATE",
    "AlignedFace",
    "align_face",
    "create_detector",
    "detect_faces",
    "largest_face",
    "list_detectors",
    "region_box",
    "regions_for_au",
    "zoom",
]
