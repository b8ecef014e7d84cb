"""The published page schema is a contract: real pages validate against it, broken ones do not."""

from __future__ import annotations

import copy

import jsonschema
import orjson
import pytest
from pydantic import ValidationError

from pagegen import Engine, Page
from pagegen._cli import published_schema
from pagegen.core._page import PAGE_FORMAT_VERSION, PAGE_SCHEMA_ID

SCHEMA = published_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.fixture(scope="module")
def pages(tiny_world, tiny_model):
    engine = Engine(tiny_world.catalog, tiny_model, interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)
    users = [tiny_world.interactions.users.id(i) for i in range(0, 40, 8)]
    return [orjson.loads(engine.build(u, device=d).to_json()) for u in users for d in ("web", "tv", "mobile")]


def test_the_schema_names_itself_and_its_version() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema" and SCHEMA["$id"] == PAGE_SCHEMA_ID
    assert SCHEMA["properties"]["version"]["const"] == PAGE_FORMAT_VERSION
    assert SCHEMA["properties"]["device"]["enum"] == ["mobile", "tv", "web"]
    assert "continue_watching" in SCHEMA["$defs"]["PageRow"]["properties"]["kind"]["enum"]


def test_built_pages_validate_and_state_their_window(pages) -> None:
    for page in pages:
        VALIDATOR.validate(page)
        assert page["window"]["rows"] >= 1 and page["window"]["columns"] >= 1
    assert {(p["device"], p["window"]["rows"], p["window"]["columns"]) for p in pages if p["policy"] == "default"} >= {("web", 3, 6)}


def _broken(page: dict, how: str) -> dict:
    bad = copy.deepcopy(page)
    if how == "unknown device":
        bad["device"] = "toaster"
    elif how == "empty row":
        bad["rows"][0]["slots"] = []
    elif how == "version 9.9":
        bad["version"] = "9.9"
    elif how == "negative now":
        bad["now"] = -5
    elif how == "unknown row kind":
        bad["rows"][0]["kind"] = "mystery"
    elif how == "zero window":
        bad["window"] = {"rows": 0, "columns": 3}
    return bad


@pytest.mark.parametrize("how", ["unknown device", "empty row", "version 9.9", "negative now", "unknown row kind", "zero window"])
def test_broken_pages_fail_the_schema(pages, how) -> None:
    assert not VALIDATOR.is_valid(_broken(pages[0], how))


@pytest.mark.parametrize("how", ["empty row", "version 9.9", "negative now", "zero window"])
def test_broken_pages_fail_to_load(pages, how) -> None:
    with pytest.raises(ValidationError):
        Page.model_validate(_broken(pages[0], how))


def test_a_title_twice_in_a_row_fails_to_load(pages) -> None:
    bad = copy.deepcopy(pages[0])
    row = next(r for r in bad["rows"] if len(r["slots"]) >= 2)
    row["slots"][1] = {**row["slots"][1], "id": row["slots"][0]["id"]}
    with pytest.raises(ValidationError, match="appears twice in the row"):
        Page.model_validate(bad)


def test_a_custom_deployment_lists_its_own_devices_and_kinds() -> None:
    schema = Page.json_schema(devices=["car"], kinds=["short"])
    assert schema["properties"]["device"]["enum"] == ["car"] and schema["$defs"]["PageRow"]["properties"]["kind"]["enum"] == ["short"]
    assert "enum" not in Page.json_schema()["properties"]["device"]


def test_views_read_the_window_the_page_states(pages) -> None:
    """Rendering a page JSON marks the window it was served with, not one looked up by policy name."""
    from pagegen.serve._sources import window

    page = Page.model_validate({**pages[0], "window": {"rows": 2, "columns": 4}})
    assert window(None, page.device, page) == (2, 4)
    assert window("tv", "tv", page) == (4, 5)  # a policy named explicitly wins
