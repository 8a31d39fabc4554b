"""Dataset adapters: each dataset's official release layout → :class:`Sample` records.

>>> from facscope.data import load_dataset, list_datasets
>>> sorted(list_datasets())[:3]
['affectnet', 'bp4d', 'casme2']

``load_dataset(name, root, *, strict=False, **options)`` returns a :class:`Dataset` (sized,
iterable, indexable) whose ``.problems`` lists every annotation problem found and the rule
applied (see :data:`PROBLEM_KINDS` and docs/datasets.md). Importing this package registers every
adapter; spreadsheet readers (openpyxl) load only when a sheet is read.
"""

from __future__ import annotations

from facscope.data import au, ckplus, composite, dfme, fer, generic, me, smic  # noqa: F401
from facscope.data.au import au_matrix
from facscope.data.check import check_dataset, check_sample
from facscope.data.dataset import DATASETS, TARGETS, Dataset, concat, list_datasets, load_dataset
from facscope.data.dfme import DFMEMapping
from facscope.data.generic import MANIFEST_COLUMNS, write_manifest
from facscope.data.problems import FILE_KINDS, PROBLEM_KINDS, QUIET_KINDS, Problem
from facscope.data.sample import APEX_RULES, KINDS, Sample

__all__ = [
    "APEX_RULES",
    "DATASETS",
    "FILE_KINDS",
    "KINDS",
    "MANIFEST_COLUMNS",
    "PROBLEM_KINDS",
    "QUIET_KINDS",
    "TARGETS",
    "DFMEMapping",
    "Dataset",
    "Problem",
    "Sample",
    "au_matrix",
    "check_dataset",
    "check_sample",
    "concat",
    "list_datasets",
    "load_dataset",
    "write_manifest",
]
