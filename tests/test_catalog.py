"""catalog.json as read back: what a damaged or hostile catalogue may not do to later builds."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import InputError
from pipeline.feed.catalog import Catalog
from tests.test_home import episode


def _raw(**changes) -> bytes:
    data = json.loads(Catalog((episode(1, tags=("horror",)),)).to_json())
    data["episodes"][0].update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"tags": [7]},  # a number as a tag: TypeError in every home build
        {"date": "2024-13-45"},  # ValueError in every home build
        {"updated": "2024-01-01</lastmod><script>x</script>"},  # went unescaped into sitemap.xml
        {"title": ["not", "text"]},
        {"explicit": "yes"},
    ],
)
def test_a_catalogue_with_fields_of_the_wrong_type_is_refused_where_it_is_read(changes):
    """Security 2, finding 13."""
    with pytest.raises(InputError) as refused:
        Catalog.from_json(_raw(**changes))
    assert "catalogue is damaged" in str(refused.value)


def test_the_list_id_is_kept_once_set():
    catalog = Catalog.from_json(_raw()).with_list_id("0f8f6c1e-8d7b-4a53-9d7e-3c1b2a9e4f10")
    again = Catalog.from_json(catalog.to_json())
    assert again.list_id == "0f8f6c1e-8d7b-4a53-9d7e-3c1b2a9e4f10"
    assert again.with_list_id("11111111-2222-4333-8444-555555555555").list_id == again.list_id
    assert again.upsert(episode(2)).list_id == again.list_id  # publishing keeps it
