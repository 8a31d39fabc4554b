"""Phrasings of the instruction targets: several per step, one drawn per sample (seeded).

Every phrasing is a ``str.format`` template. Rules that keep targets faithful to the annotation:
no template names an Action Unit (AU codes and FACS names come only from the annotation) and no
template names an emotion (the label comes only from the annotation). ``tests/mellm`` parses
every built target back and checks both.
"""

from __future__ import annotations

__all__ = [
    "AU_EVIDENCE",
    "AU_FAINT",
    "AU_INTRO",
    "COARSE",
    "COARSE_NONE",
    "CONCLUSION",
    "DIRECTION_WORDS",
    "INTENSITY_WORDS",
    "MOTION_INTRO",
    "NO_AUS",
    "NO_MOTION",
    "REASON_FULL",
    "REASON_NONE",
    "REASON_NO_AUS",
    "REASON_OTHERS",
    "REASON_PARTIAL",
    "REASON_REPRESSION",
    "REASON_VALENCE",
    "REGION_COLOUR",
    "REGION_MIXED",
    "REGION_PLAIN",
    "REGION_STATS",
    "STILL_REST",
    "UNEXPLAINED",
]

#: Image-direction names of :data:`facscope.mellm.regions.DIRECTIONS8` as prose.
DIRECTION_WORDS = {
    "up": "upward",
    "up-right": "up and to the right",
    "right": "to the right",
    "down-right": "down and to the right",
    "down": "downward",
    "down-left": "down and to the left",
    "left": "to the left",
    "up-left": "up and to the left",
}

#: FACS intensity letters as words.
INTENSITY_WORDS = {"A": "trace", "B": "slight", "C": "marked", "D": "severe", "E": "maximum"}

# -- step 1: the regions that move ------------------------------------------------------------

MOTION_INTRO = (
    "Step 1 - regions and Action Units. Looking at the motion from onset to apex, {regions}.",
    "Step 1 - regions and Action Units. The clearest movement is as follows: {regions}.",
    "Step 1 - regions and Action Units. Ignoring global head motion, {regions}.",
    "Step 1 - regions and Action Units. Region by region, {regions}.",
)
NO_MOTION = (
    "Step 1 - regions and Action Units. No region stands out from the rest: the measured motion "
    "is faint everywhere.",
    "Step 1 - regions and Action Units. The face shows no region with clear motion above the "
    "background level.",
    "Step 1 - regions and Action Units. The motion is very subtle; no region clearly moves more "
    "than the others.",
)
#: colour-map input: the colour (direction) and brightness (strength) the map shows
REGION_COLOUR = (
    "the {region} is {colour} ({direction}) and {brightness}",
    "the {region} appears {colour}, i.e. it moves {direction}, {brightness}",
    "the {region} turns {colour} ({direction}), {brightness}",
)
#: onset + apex frames input: direction and strength in words
REGION_PLAIN = (
    "the {region} moves {direction} ({strength})",
    "the {region} shifts {direction} with {strength} motion",
    "there is {strength} motion of the {region} {direction}",
)
#: statistics input: direction and the measured magnitudes
REGION_STATS = (
    "the {region} moves {direction} ({strength}; mean {mean:.2f} px, max {max:.2f} px)",
    "the {region} shifts {direction} with {strength} motion (mean {mean:.2f} px, peak {max:.2f} px)",
    "the {region} shows {strength} motion {direction} (mean {mean:.2f} px, max {max:.2f} px)",
)
#: a moving region whose vectors cancel out
REGION_MIXED = (
    "the {region} moves ({strength}) without one dominant direction",
    "the {region} shows {strength} motion in several directions at once",
)
STILL_REST = (
    "The other regions stay still or show only faint motion.",
    "Elsewhere the face is essentially still.",
    "The rest of the face barely moves.",
)
UNEXPLAINED = (
    "The motion in {regions} is not attributed to a coded Action Unit; it may spread from "
    "neighbouring movement or be residual head motion.",
    "No coded Action Unit accounts for the motion in {regions}, which is likely spill-over "
    "from nearby movement or leftover head motion.",
)

# -- step 1 (continued): the AUs the motion shows ----------------------------------------------

AU_INTRO = (
    "These movements correspond to the following Action Units: {aus}.",
    "In FACS terms this is {aus}.",
    "The annotated Action Units explain this motion: {aus}.",
    "Read as Action Units, the motion shows {aus}.",
)
AU_EVIDENCE = (
    "{au}, seen in {regions}",
    "{au}, visible in {regions}",
    "{au}, which moves {regions}",
)
AU_FAINT = (
    "{au}, coded by the annotators although the measured motion in its region ({regions}) is "
    "too faint to stand out",
    "{au}, annotated even though its region ({regions}) barely moves in the measurement",
)
NO_AUS = (
    "The annotation codes no Action Unit for this sample.",
    "No Action Unit is coded for this sample.",
)

# -- step 2: from the AU combination to the emotion --------------------------------------------

REASON_FULL = (
    "Step 2 - reasoning. {aus} together form the typical EMFACS pattern of {label}.",
    "Step 2 - reasoning. The combination {aus} is the classic prototype of {label}.",
    "Step 2 - reasoning. {aus} is the textbook Action Unit pattern of {label}.",
)
REASON_PARTIAL = (
    "Step 2 - reasoning. {common} {verb} part of the typical EMFACS pattern of {label}; "
    "micro-expressions are brief and often partial, so an incomplete pattern is expected.",
    "Step 2 - reasoning. {common} {verb} characteristic of {label}; a micro-expression often "
    "shows only part of the full pattern.",
    "Step 2 - reasoning. The presence of {common} points to {label}, whose full pattern is "
    "rarely complete in a suppressed, fleeting expression.",
)
REASON_NONE = (
    "Step 2 - reasoning. {aus} is not the textbook pattern of {label}; micro-expressions are "
    "often partial or blended, and the label, which also draws on the eliciting stimulus and "
    "the participant's report, is {label}.",
    "Step 2 - reasoning. The Action Units do not follow the usual pattern of {label}; in "
    "micro-expression data the label also reflects the elicitation context, which here "
    "indicates {label}.",
)
REASON_NO_AUS = (
    "Step 2 - reasoning. Without coded Action Units the motion alone cannot name the emotion; "
    "the annotation labels it {label}.",
    "Step 2 - reasoning. No Action Unit is coded, so the label comes from the annotation: {label}.",
)
REASON_REPRESSION = (
    "Step 2 - reasoning. Small movements like {aus} often mask a suppressed reaction; CASME II "
    "codes such suppression as {label}.",
    "Step 2 - reasoning. {aus} looks like an attempt to hold the face still and hide a "
    "reaction, which is coded as {label}.",
)
REASON_OTHERS = (
    "Step 2 - reasoning. {aus} matches no basic emotion pattern, so the movement is coded as "
    "{label}.",
    "Step 2 - reasoning. The combination {aus} does not fit a basic emotion category; the "
    "annotators labelled it {label}.",
)
#: SMIC-style labels that are already classes (positive / negative / surprise)
REASON_VALENCE = (
    "Step 2 - reasoning. The movement pattern {aus} points to a {label} reaction.",
    "Step 2 - reasoning. Taken together, {aus} indicates a {label} micro-expression.",
)
COARSE = (
    "In the MEGC three-class scheme, {label} belongs to the {coarse} class.",
    "{label_cap} counts as {coarse} in the three-class grouping.",
    "On the coarse three-class scale this is {coarse}.",
)
COARSE_NONE = (
    "The label {label} lies outside the MEGC three-class scheme.",
    "{label_cap} has no class in the MEGC three-class grouping.",
)

# -- step 3: conclusion -------------------------------------------------------------------------

CONCLUSION = (
    "Step 3 - conclusion. The face shows {aus}: a micro-expression of {label}{coarse}.",
    "Step 3 - conclusion. Action Units {aus}; the micro-expression is {label}{coarse}.",
    "Step 3 - conclusion. With {aus}, the expression is best read as {label}{coarse}.",
)
