import warnings

from facscope.cli.main import _one_line_warnings
from facscope.errors import FacscopeDataWarning


def test_facscope_warnings_print_as_one_line_and_others_pass_through(capsys):
    passed = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _one_line_warnings(lambda m, c, *a, **k: passed.append(c))
        warnings.warn("dfme: 3 × au-notation: kept", FacscopeDataWarning, stacklevel=1)
        warnings.warn("something else", DeprecationWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err == "facscope: warning: dfme: 3 × au-notation: kept\n"
    assert passed == [DeprecationWarning]
