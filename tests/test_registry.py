import pytest

from facscope.errors import ConfigError
from facscope.registry import Registry


def test_register_create_and_list():
    reg: Registry[object] = Registry("widget")

    @reg.register("Alpha")
    class Alpha:
        """First widget."""

        def __init__(self, n: int = 1) -> None:
            self.n = n

    assert reg.names() == ["alpha"]
    assert "ALPHA" in reg and "beta" not in reg
    assert reg.create("alpha", n=3).n == 3
    assert reg.describe() == {"alpha": "First widget."}


def test_unknown_name_lists_choices_and_is_value_error():
    reg: Registry[object] = Registry("widget")
    reg.register("a")(dict)
    with pytest.raises(ValueError, match=r"widget must be one of \['a'\]; got 'zzz'"):
        reg.get("zzz")


def test_duplicate_registration_is_refused():
    reg: Registry[object] = Registry("widget")
    reg.register("a")(dict)
    with pytest.raises(ConfigError, match="already registered"):
        reg.register("a")(list)
