"""Every official sheet layout with the AU cells real sheets write: no cell loses its readable
codes, and the unreadable tokens are counted and kept."""

from __future__ import annotations

import warnings
from collections import Counter

import pytest
from layout_fixtures import make_facs_cells

from facscope.data import load_dataset
from facscope.errors import AnnotationError
from facscope.facs import parse_codes


@pytest.mark.parametrize("name", ["casme2", "samm", "casme3", "dfme"])
def test_no_cell_loses_its_readable_codes(tmp_path, name):
    expected = make_facs_cells(tmp_path, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(name, tmp_path, scan=False)
    assert len(ds) == len(expected["cells"])
    for sample, cell in zip(ds, expected["cells"]):
        read = parse_codes(cell)
        assert sample.aus == read.codes, cell
        assert sample.meta.get("aus_unreadable", []) == list(read.unreadable)
        assert sample.meta.get("aus_text", []) == list(read.descriptors)
    assert sum(len(s.meta.get("aus_unreadable", [])) for s in ds) == expected["unreadable"]
    kinds = Counter(p.kind for p in ds.problems)
    assert kinds["au-unparsable"] == expected["cells_with_unreadable"]
    assert kinds["au-notation"] > 0 and kinds["au-doubtful"] > 0
    with pytest.raises(AnnotationError, match="strict=True"):
        load_dataset(name, tmp_path, scan=False, strict=True)
