"""Where results live: a local folder or any URI Ray's storage accepts (`file://`, `s3://`, `gs://`).

    root = absolute_storage("results")                  # /abs/path/results
    run = join("s3://bucket/results", "quickstart", "runs")   # s3://bucket/results/quickstart/runs
    append_line(join(run, "log.jsonl"), json.dumps(metrics))
    local = local_view("s3://bucket/results/quickstart")   # a local folder to read from

Locations are built as strings, never through `pathlib` on a URI (`Path("s3://b/x")` is
`s3:/b/x`). A `file://` URI *is* a local folder: it is read and written in place. Other URIs go
through pyarrow's filesystems (installed with Ray), the same layer Ray Train and Tune use.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import ConfigError


def is_uri(location: str) -> bool:
    return "://" in str(location)


def file_path(location: str) -> str | None:
    """The local path of a local folder or a `file://` URI; None for remote URIs."""
    location = str(location)
    if not is_uri(location):
        return location
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return None


def absolute_storage(location: str) -> str:
    """Ray wants an absolute local path or a URI; relative paths are taken from the cwd."""
    if is_uri(location):
        return location
    return os.path.abspath(os.path.expanduser(location))


def join(base: str, *parts: str) -> str:
    """`base/part/...` for a local path or a URI (query strings such as `?endpoint_override=`
    stay at the end, where pyarrow expects them)."""
    base = str(base)
    if not is_uri(base):
        return os.path.join(base, *parts)
    query = ""
    if "?" in base:
        base, query = base.split("?", 1)
        query = "?" + query
    tail = "/".join(p.strip("/") for p in parts if p)
    return f"{base.rstrip('/')}/{tail}{query}" if tail else base + query


def _remote(location: str):
    import pyarrow.fs

    try:
        return pyarrow.fs.FileSystem.from_uri(location)
    except Exception as err:  # pyarrow raises ArrowInvalid / OSError with its own words
        raise ConfigError(f"storage {location!r}: {str(err).splitlines()[0]}; use a local path, "
                          f"file:///abs/path or a URI Ray's storage accepts (s3://, gs://)"
                          ) from None


def read_text(location: str) -> str | None:
    """A file's text, or None when it does not exist (yet)."""
    local = file_path(location)
    if local is not None:
        try:
            return Path(local).read_text()
        except FileNotFoundError:
            return None
    fs, path = _remote(location)
    import pyarrow.fs

    if fs.get_file_info(path).type != pyarrow.fs.FileType.File:
        return None
    with fs.open_input_stream(path) as f:
        return f.read().decode()


def write_text(location: str, text: str) -> None:
    """Write a whole (small) text file, creating folders as needed; a local file is replaced
    atomically (a reader sees the old or the new file)."""
    local = file_path(location)
    if local is not None:
        path = Path(local)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        return
    fs, path = _remote(location)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(text.encode())


def append_line(location: str, line: str) -> None:
    """Append one line to a text file, creating folders as needed.

    Object stores cannot append: there the whole (small) file is read and written again, so a
    reader sees either the old or the new file, never half a line."""
    local = file_path(location)
    if local is not None:
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        with open(local, "a") as f:
            f.write(line.rstrip("\n") + "\n")
        return
    fs, path = _remote(location)
    text = (read_text(location) or "") + line.rstrip("\n") + "\n"
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(text.encode())


def local_view(location: str, cache: str | None = None) -> Path:
    """A local folder holding what `location` holds: itself for local folders and `file://`;
    for other URIs a fresh copy under `cache` (default `$MGSEARCH_CACHE` or ~/.cache/mgsearch)."""
    local = file_path(location)
    if local is not None:
        return Path(local)
    import pyarrow.fs

    fs, path = _remote(location)
    if fs.get_file_info(path).type != pyarrow.fs.FileType.Directory:
        raise ConfigError(f"experiment folder {location} does not exist; pass the folder "
                          f"`mgsearch search` printed (<storage_path>/<search name>)")
    parsed = urlparse(location)
    root = Path(cache or os.environ.get("MGSEARCH_CACHE") or Path.home() / ".cache" / "mgsearch")
    dest = root / parsed.scheme / (parsed.netloc + parsed.path)
    dest.mkdir(parents=True, exist_ok=True)
    pyarrow.fs.copy_files(path, str(dest), source_filesystem=fs,
                          destination_filesystem=pyarrow.fs.LocalFileSystem())
    return dest
