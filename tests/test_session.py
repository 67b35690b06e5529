"""pipeline/storage/session.py: which storage a run talks to, decided before anything starts."""

import pytest

from pipeline.config import Config, StorageConfig
from pipeline.storage.session import configured_endpoint, planned_links, uses_embedded


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "PUBLISH_LOCAL_S3_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_endpoint_and_no_credentials_mean_the_embedded_store(clean_env):
    config = Config()
    assert uses_embedded(config) and configured_endpoint(config) is None
    clean_env.setenv("PUBLISH_LOCAL_S3_PORT", "9100")
    assert planned_links(config).feed_url == "http://127.0.0.1:9100/podcast/feed.xml"


def test_the_config_then_the_environment_name_the_endpoint(clean_env):
    clean_env.setenv("AWS_ENDPOINT_URL", "https://s3.env.example")
    assert configured_endpoint(Config()) == "https://s3.env.example"
    clean_env.setenv("AWS_ENDPOINT_URL_S3", "https://s3-only.env.example")
    assert configured_endpoint(Config()) == "https://s3-only.env.example"
    config = Config(storage=StorageConfig(endpoint_url="https://r2.example", public_url="https://cdn.example"))
    assert configured_endpoint(config) == "https://r2.example" and not uses_embedded(config)
    assert planned_links(config).feed_url == "https://cdn.example/feed.xml"


def test_aws_credentials_without_an_endpoint_mean_aws_itself(clean_env):
    clean_env.setenv("AWS_PROFILE", "work")
    assert not uses_embedded(Config()) and configured_endpoint(Config()) is None
