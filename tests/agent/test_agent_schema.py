"""Tool schemas come from signatures and docstrings, as transformers/TRL would render them."""

from __future__ import annotations

import pytest

from facscope.agent.schema import parse_google_docstring, tool_schema
from facscope.agent.tools import TOOL_NAMES, FaceTools, tool_methods
from facscope.errors import ConfigError
from facscope.face import REGION_NAMES


def _all_tools() -> list:
    tools = FaceTools(measure_tool=True)
    tools.onset = object()  # pretend a clip is loaded so motion_map is offered
    return tool_methods(tools)


def test_schemas_of_the_face_tools():
    schemas = {s["function"]["name"]: s for s in map(tool_schema, _all_tools())}
    assert list(schemas) == list(TOOL_NAMES)
    zoom = schemas["zoom"]["function"]
    props = zoom["parameters"]["properties"]
    assert set(props) == {"region", "box", "scale"}
    assert props["region"] == {
        "type": "string",
        "nullable": True,
        "enum": list(REGION_NAMES),
        "description": props["region"]["description"],
    }
    assert props["box"]["type"] == "array" and props["box"]["items"] == {"type": "number"}
    assert props["scale"]["type"] == "number"
    measure = schemas["measure_aus"]["function"]["parameters"]["properties"]
    assert measure["region"]["enum"] == list(REGION_NAMES)
    assert "required" not in zoom["parameters"]  # every argument has a default
    assert "Zoom into a facial region" in zoom["description"]
    assert "Args:" not in zoom["description"]
    assert (
        schemas["align_face"]["function"]["parameters"]["properties"]["face_index"]["type"]
        == "integer"
    )


def test_schemas_match_transformers_get_json_schema():
    """TRL renders environment tools with transformers' schema: the model must see the same."""
    utils = pytest.importorskip("transformers.utils")
    for method in _all_tools():
        ours = tool_schema(method)["function"]
        theirs = utils.get_json_schema(method)["function"]
        assert ours["name"] == theirs["name"]
        assert ours["description"] == theirs["description"]
        assert ours["parameters"] == theirs["parameters"]


def test_environment_public_methods_are_exactly_the_tools():
    """TRL's environment_factory turns every public function of the class into a tool."""
    import inspect

    public = {
        n for n, _ in inspect.getmembers(FaceTools, inspect.isfunction) if not n.startswith("_")
    }
    assert public == {*TOOL_NAMES, "reset"}


def test_docstring_parser_joins_continuation_lines():
    desc, args, returns = parse_google_docstring(
        """Do a thing.

        More text.

        Args:
            first: The first
                argument, continued.
            second (int): Second.

        Returns:
            Something.
        """
    )
    assert desc == "Do a thing.\n\nMore text."
    assert args == {"first": "The first argument, continued.", "second": "Second."}
    assert returns == "Something."


def test_schema_errors_name_the_problem():
    def untyped(x) -> None:
        """Doc.

        Args:
            x: thing.
        """

    def undocumented(x: int) -> None:
        """Doc without args."""

    def nodoc(x: int) -> None:
        pass

    with pytest.raises(ConfigError, match="no type hint"):
        tool_schema(untyped)
    with pytest.raises(ConfigError, match="not described"):
        tool_schema(undocumented)
    with pytest.raises(ConfigError, match="no docstring"):
        tool_schema(nodoc)
