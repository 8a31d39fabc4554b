"""Face perception: detection, five-point alignment, canonical regions, zoomable views, dense
landmarks (:mod:`facscope.face.landmarks`, optional extra) and AUs measured from them
(:mod:`facscope.face.aus`)."""

from facscope.face.align import AlignedFace, align_face
from facscope.face.detect import (
    DETECTORS,
    create_detector,
    detect_faces,
    largest_face,
    list_detectors,
)
from facscope.face.landmarks import (
    LANDMARKERS,
    create_landmarker,
    landmarks_available,
    list_landmarkers,
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
    "LANDMARKERS",
    "REGIONS",
    "REGION_NAMES",
    "TEMPLATE",
    "AlignedFace",
    "align_face",
    "create_detector",
    "create_landmarker",
    "detect_faces",
    "landmarks_available",
    "largest_face",
    "list_detectors",
    "list_landmarkers",
    "region_box",
    "regions_for_au",
    "zoom",
]
