"""Result locations as strings: local folders, file:// URIs, and S3 (a local moto server, real
HTTP through pyarrow's S3 filesystem, the layer Ray's storage uses)."""

from __future__ import annotations


import pytest

from mgsearch import storage
from mgsearch.errors import ConfigError


def test_join_never_mangles_a_uri():
    assert storage.join("s3://bucket/results", "exp", "train_runs") == \
        "s3://bucket/results/exp/train_runs"
    assert storage.join("file:///tmp/r/", "exp") == "file:///tmp/r/exp"
    # pyarrow's options ride in the query string, which must stay at the end.
    assert storage.join("s3://b/r?endpoint_override=http://127.0.0.1:9000", "exp", "m.jsonl") == \
        "s3://b/r/exp/m.jsonl?endpoint_override=http://127.0.0.1:9000"
    assert storage.join("/abs/results", "exp") == "/abs/results/exp"


def test_file_uris_are_local_folders(tmp_path):
    uri = "file://" + str(tmp_path / "a b")
    assert storage.file_path(uri) == str(tmp_path / "a b")
    assert storage.file_path("file://" + str(tmp_path).replace(" ", "%20")) == str(tmp_path)
    assert storage.file_path("gs://bucket/x") is None
    target = storage.join(uri, "run", "metrics.jsonl")
    storage.append_line(target, '{"epoch": 1}')
    storage.append_line(target, '{"epoch": 2}\n')
    assert (tmp_path / "a b" / "run" / "metrics.jsonl").read_text() == \
        '{"epoch": 1}\n{"epoch": 2}\n'
    assert storage.local_view(uri) == tmp_path / "a b"
    assert storage.read_text(storage.join(uri, "missing.txt")) is None


def test_relative_storage_is_taken_from_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.absolute_storage("results") == str(tmp_path / "results")
    assert storage.absolute_storage("s3://b/x") == "s3://b/x"


def test_an_unknown_scheme_is_one_line():
    with pytest.raises(ConfigError, match="nosuch://x/y.*use a local path"):
        storage.read_text("nosuch://x/y")


@pytest.fixture
def s3(monkeypatch):
    """A bucket on a moto S3 server on 127.0.0.1; yields its storage URI."""
    moto_server = pytest.importorskip("moto.server", reason="moto is in the 'test' extra")
    boto3 = pytest.importorskip("boto3")
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="mgsearch")
    try:
        yield f"s3://mgsearch/results?endpoint_override={endpoint}&scheme=http&region=us-east-1"
    finally:
        server.stop()


def test_s3_append_read_and_local_copy(s3, tmp_path):
    target = storage.join(s3, "exp", "train_runs", "train-1", "metrics.jsonl")
    assert storage.read_text(target) is None
    storage.append_line(target, '{"epoch": 1}')
    storage.append_line(target, '{"epoch": 2}')
    assert storage.read_text(target) == '{"epoch": 1}\n{"epoch": 2}\n'
    local = storage.local_view(storage.join(s3, "exp"), cache=str(tmp_path / "cache"))
    copied = local / "train_runs" / "train-1" / "metrics.jsonl"
    assert copied.read_text() == '{"epoch": 1}\n{"epoch": 2}\n'
    assert str(local).startswith(str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="does not exist"):
        storage.local_view(storage.join(s3, "no-such-experiment"), cache=str(tmp_path / "c2"))
