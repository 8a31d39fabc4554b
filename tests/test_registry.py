import pytest

from facscope.errors import ConfigError, FacscopeDeprecationWarning
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


def test_names_follow_one_style_and_former_names_warn():
    reg: Registry[object] = Registry("thing")
    with pytest.raises(ConfigError, match="registry style"):
        reg.register("two-words")(object)
    reg.register("two_words.tag")(dict)
    reg.alias("two-words", "two_words.tag")
    assert "two-words" in reg and reg.names() == ["two_words.tag"]
    with pytest.warns(FacscopeDeprecationWarning, match="renamed 'two_words.tag'"):
        assert reg.get("Two-Words") is dict
    with pytest.raises(ConfigError, match="unregistered"):
        reg.alias("old", "missing")


def test_every_builtin_registry_uses_the_style_and_old_names_still_work():
    import facscope.data
    from facscope.eval.protocols import PROTOCOLS
    from facscope.motion.flow import FLOWS, create_flow
    from facscope.registry import NAME_STYLE

    for reg in (FLOWS, PROTOCOLS, facscope.data.DATASETS):
        assert all(NAME_STYLE.fullmatch(n) for n in reg.names()), reg.names()
    with pytest.warns(FacscopeDeprecationWarning):
        assert type(create_flow("tvl1-skimage")) is type(create_flow("tvl1.skimage"))
    with pytest.warns(FacscopeDeprecationWarning):
        assert PROTOCOLS.get("cross-dataset") is PROTOCOLS.get("cross_dataset")
