"""FACS vocabulary shared by every part of facscope.

Four things live here, all pure standard-library code, one module each (plus the prototypes):

* **The Action Unit catalogue** (:data:`AU_CATALOGUE`): FACS name, muscular basis, the coarse
  face region an AU is seen in (:data:`REGION_GROUPS`, the groups used by region-level rewards),
  a one-line description of the visible motion and its dominant direction in image coordinates
  (:data:`DIRECTIONS`). Names follow the 2002 FACS manual.
* **Direction vocabularies** (:mod:`facscope.facs.directions`): the face-terms directions of
  the catalogue and the image compass (:data:`COMPASS`, :data:`NO_MOTION`,
  :data:`NO_DIRECTION`) that region statistics, colour maps, agent rules and descriptions use.
* **The FACS code grammar** (:func:`parse_codes`, :func:`parse_aus`, :func:`format_aus`):
  annotation cells exactly as the sheets write them (``R12+L14A``, ``4+7(?)``, ``12 or 14``,
  ``T28+14``, ``10A/B``, ``ref(7B)``, ``AD31``, ``M58``, ``12.0`` from Excel) into structured
  codes (:class:`AU` with its kind, side, intensity range and flags; :class:`Descriptor` for
  free text); what AU metrics count (:func:`au_numbers`, :func:`au_targets`). See docs/facs.md.
* **Emotion taxonomies**: canonical label names, each dataset's own label set and its mapping to
  them (:data:`DATASET_LABELS`, :func:`dataset_label`), the MEGC 2019 3-class relabelling
  (:func:`megc3`) and EMFACS-style emotion → AU prototypes (:data:`EMOTION_PROTOTYPES`) with a
  small overlap-based AU → emotion heuristic (:func:`emotion_scores`, :func:`infer_emotion`).

Canonical emotion names are lower-case nouns: ``anger contempt disgust fear happiness sadness
surprise neutral``, plus the ME-specific ``repression`` and ``others`` and SMIC's ``positive`` and
``negative``. Label orders that matter for integer ids:

* :data:`BASIC_EMOTIONS` / :data:`ME7`: the seven basic emotions in alphabetical order, which is
  also DFME's label order (anger 0, contempt 1, …, surprise 6).
* :data:`FER7`: the 7-class still-image FER set, six basic emotions (no contempt) + neutral;
  :data:`FER8` adds contempt (FERPlus / AffectNet 8-class).
* :data:`MEGC3`: ``negative positive surprise`` (ids 0, 1, 2 as in the public composite code).
"""

from facscope.facs.aus import AU, INTENSITIES, au_numbers, au_targets, format_aus, parse_aus
from facscope.facs.catalogue import (
    AU_CATALOGUE,
    DIRECTIONS,
    ME_AUS,
    REGION_AUS,
    REGION_GROUPS,
    ActionUnit,
    au_from_name,
    get_au,
)
from facscope.facs.codes import KINDS, SIDES, Descriptor, default_kind
from facscope.facs.directions import (
    COMPASS,
    DOWNWARD,
    FACE_DIRECTIONS,
    NO_DIRECTION,
    NO_MOTION,
    UPWARD,
    compass_of,
    normalize_compass,
    outward_compass,
)
from facscope.facs.emotions import (
    BASIC_EMOTIONS,
    DATASET_LABELS,
    EMOTIONS,
    FER7,
    FER8,
    ME7,
    MEGC3,
    dataset_label,
    megc3,
    normalize_emotion,
)
from facscope.facs.grammar import FacsCell, parse_codes
from facscope.facs.prototypes import (
    EMOTION_PROTOTYPES,
    emotion_scores,
    infer_emotion,
    prototype_aus,
)

__all__ = [
    "AU",
    "AU_CATALOGUE",
    "BASIC_EMOTIONS",
    "COMPASS",
    "DATASET_LABELS",
    "DIRECTIONS",
    "DOWNWARD",
    "EMOTIONS",
    "EMOTION_PROTOTYPES",
    "FACE_DIRECTIONS",
    "FER7",
    "FER8",
    "INTENSITIES",
    "KINDS",
    "ME7",
    "MEGC3",
    "ME_AUS",
    "NO_DIRECTION",
    "NO_MOTION",
    "REGION_AUS",
    "REGION_GROUPS",
    "SIDES",
    "UPWARD",
    "ActionUnit",
    "Descriptor",
    "FacsCell",
    "au_from_name",
    "au_numbers",
    "au_targets",
    "compass_of",
    "dataset_label",
    "default_kind",
    "emotion_scores",
    "format_aus",
    "get_au",
    "infer_emotion",
    "megc3",
    "normalize_compass",
    "normalize_emotion",
    "outward_compass",
    "parse_aus",
    "parse_codes",
    "prototype_aus",
]
