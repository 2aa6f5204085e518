"""Tests of ``inputs.fetch`` against local HTTP servers; nothing touches the internet."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import DATA

if not (DATA / "SHA256SUMS").is_file():
    pytest.skip(
        f"shared data folder {DATA} is absent; the fetch tests serve it as a local mirror",
        allow_module_level=True,
    )

from geo.errors import FetchError
from inputs import fetch as fetch_module
from inputs.fetch import (
    CHECKSUMS_FILE,
    MIRROR_ENV_VAR,
    PUBLIC_ORIGINS,
    Origin,
    fetch_data,
    load_checksums,
    sha256_file,
)

METADATA = {"SHA256SUMS", "SOURCES.md"}
HOT_FILE = "hotosm/hotosm_kaz_populated_places_points_geojson.geojson"
CORRUPT_FILE = "geokz/kaz_admbnda_adm1_2024.dbf"
MISSING_FILE = "geokz/kaz_admbnda_adm2_2024.shx"


class QuietHandler(SimpleHTTPRequestHandler):
    """Static file handler that records request paths and logs nothing."""

    requests: list[str]
    not_found: frozenset[str] = frozenset()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.lstrip("/") in self.not_found:
            self.send_error(404)
            return
        super().do_GET()


class TruncatingHandler(QuietHandler):
    """Announces 5 bytes (the size of the first file), sends 2, then drops the connection."""

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"01")
        self.close_connection = True


@contextlib.contextmanager
def serve(
    directory: Path,
    not_found: frozenset[str] = frozenset(),
    base: type[QuietHandler] = QuietHandler,
) -> Iterator[tuple[str, list]]:
    """Serve ``directory`` on 127.0.0.1; yield the base URL and the list of request paths."""
    requests: list[str] = []
    handler = type("Handler", (base,), {"requests": requests, "not_found": not_found})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def mirror() -> Iterator[tuple[str, list]]:
    with serve(DATA) as served:
        yield served


@pytest.fixture(autouse=True)
def _no_env_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)


def data_files(root: Path) -> set[str]:
    """Relative POSIX paths of every file under ``root`` except the folder's metadata."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() not in METADATA
    }


def copy_data(dest: Path) -> Path:
    """Writable copy of the shared data folder (file modes are not copied)."""
    for rel in data_files(DATA):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / rel, dest / rel)
    return dest


def leftovers(root: Path) -> list[str]:
    """Hidden temporary files left anywhere under ``root``."""
    return [p.name for p in root.rglob(".*")]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sizes_are_those_of_the_shared_files() -> None:
    from inputs.fetch import load_sizes

    sizes = load_sizes()
    assert set(sizes) == set(load_checksums())
    assert all(sizes[rel] == (DATA / rel).stat().st_size for rel in sizes)


def test_checksums_are_a_copy_of_the_shared_sums() -> None:
    assert CHECKSUMS_FILE.read_bytes() == (DATA / "SHA256SUMS").read_bytes()
    checksums = load_checksums()
    assert len(checksums) == 34
    assert set(checksums) == data_files(DATA)


def test_every_file_has_a_pinned_public_origin() -> None:
    assert set(PUBLIC_ORIGINS) == set(load_checksums())
    for rel, origin in PUBLIC_ORIGINS.items():
        assert origin.url.startswith("https://")
        if rel.startswith("geokz/"):
            assert fetch_module.GEOKZ_COMMIT in origin.url
            assert origin.url.endswith("/" + Path(rel).name)
    hot = PUBLIC_ORIGINS[HOT_FILE]
    assert hot.url.endswith(".zip")
    assert hot.member == Path(HOT_FILE).name


def test_full_fetch_from_mirror(tmp_path: Path, mirror: tuple[str, list]) -> None:
    url, requests = mirror
    dest = tmp_path / "data"
    paths = fetch_data(dest, base_url=url, progress=False)

    checksums = load_checksums()
    assert paths == [dest / rel for rel in checksums]
    for rel, expected in checksums.items():
        assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == expected, rel
    assert data_files(dest) == data_files(DATA)
    assert leftovers(dest) == []
    assert len(requests) == len(checksums)

    import geopandas as gpd

    regions = gpd.read_file(dest / "geokz" / "kaz_admbnda_adm1_2024.shp")
    assert len(regions) == 20


def test_second_run_downloads_nothing(
    tmp_path: Path, mirror: tuple[str, list], capsys: pytest.CaptureFixture[str]
) -> None:
    url, requests = mirror
    fetch_data(tmp_path, base_url=url, progress=False)
    requests.clear()

    fetch_data(tmp_path, base_url=url, progress=True)

    assert requests == []
    err = capsys.readouterr().err
    assert err.count(": up to date") == len(load_checksums())


def test_damaged_local_file_is_downloaded_again(tmp_path: Path, mirror: tuple[str, list]) -> None:
    url, requests = mirror
    fetch_data(tmp_path, base_url=url, progress=False)
    (tmp_path / CORRUPT_FILE).write_bytes(b"not a dbf")
    requests.clear()

    fetch_data(tmp_path, base_url=url, progress=False)

    assert requests == ["/" + CORRUPT_FILE]
    assert sha256_file(tmp_path / CORRUPT_FILE) == load_checksums()[CORRUPT_FILE]


def test_mirror_from_environment(
    tmp_path: Path, mirror: tuple[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, requests = mirror
    monkeypatch.setenv(MIRROR_ENV_VAR, url)
    fetch_data(tmp_path, progress=False)
    assert len(requests) == len(load_checksums())


def test_file_url_mirror(tmp_path: Path) -> None:
    fetch_data(tmp_path, base_url=DATA.as_uri(), progress=False)
    assert data_files(tmp_path) == data_files(DATA)


def test_corrupted_mirror_file_raises_and_leaves_nothing(tmp_path: Path) -> None:
    bad = copy_data(tmp_path / "bad-mirror")
    damaged = bytearray((bad / CORRUPT_FILE).read_bytes())
    damaged[100] ^= 0xFF
    (bad / CORRUPT_FILE).write_bytes(bytes(damaged))
    dest = tmp_path / "data"

    with serve(bad) as (url, _), pytest.raises(FetchError, match="checksum") as info:
        fetch_data(dest, base_url=url, progress=False)

    message = str(info.value)
    assert "\n" not in message
    assert CORRUPT_FILE in message
    assert load_checksums()[CORRUPT_FILE] in message
    assert hashlib.sha256(damaged).hexdigest() in message
    assert "--base-url" in message
    assert not (dest / CORRUPT_FILE).exists()
    assert leftovers(dest) == []


def test_offline_gives_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(FetchError) as info:
        fetch_data(tmp_path, base_url=url, progress=False, timeout=5)

    message = str(info.value)
    assert "\n" not in message
    first = next(iter(load_checksums()))
    assert f"cannot download {first} from {url}{first}" in message
    assert "network" in message
    assert "--base-url" in message
    assert list(tmp_path.rglob("*")) == [tmp_path / "geokz"]


def test_timeout_gives_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(FetchError, match="timed out") as info:
            fetch_data(tmp_path, base_url=url, progress=False, timeout=0.3)

    assert "\n" not in str(info.value)
    assert leftovers(tmp_path) == []


def test_http_404_names_the_file(tmp_path: Path) -> None:
    with serve(DATA, not_found=frozenset({MISSING_FILE})) as (url, _):
        with pytest.raises(FetchError, match="404") as info:
            fetch_data(tmp_path, base_url=url, progress=False)

    message = str(info.value)
    assert "\n" not in message
    assert f"cannot download {MISSING_FILE} from {url}{MISSING_FILE}" in message
    assert not (tmp_path / MISSING_FILE).exists()
    assert leftovers(tmp_path) == []


def test_truncated_download_leaves_nothing(tmp_path: Path) -> None:
    with serve(DATA, base=TruncatingHandler) as (url, requests):
        with pytest.raises(FetchError, match="connection closed after 2 of 5 bytes") as info:
            fetch_data(tmp_path, base_url=url, progress=False)

    assert len(requests) == 1
    first = next(iter(load_checksums()))
    assert first in str(info.value)
    assert "\n" not in str(info.value)
    assert list(tmp_path.rglob("*")) == [tmp_path / "geokz"]


def hot_zip(directory: Path, member: str | None, payload: bytes | None = None) -> Path:
    """Zip like a HOT export: a README and, unless ``member`` is None, the GeoJSON."""
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / "hot.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", "OpenStreetMap export")
        if member is not None:
            zf.writestr(member, payload if payload is not None else (DATA / HOT_FILE).read_bytes())
    return archive


def local_origins(data_url: str, zip_url: str) -> dict[str, Origin]:
    origins = {rel: Origin(data_url + rel) for rel in load_checksums()}
    origins[HOT_FILE] = Origin(zip_url, member=Path(HOT_FILE).name)
    return origins


@pytest.mark.parametrize(
    "member",
    ["export/" + Path(HOT_FILE).name, "renamed.geojson"],
    ids=["in-folder", "only-geojson-member"],
)
def test_public_origin_zip_member_is_extracted(
    tmp_path: Path, mirror: tuple[str, list], monkeypatch: pytest.MonkeyPatch, member: str
) -> None:
    data_url, _ = mirror
    zips = tmp_path / "zips"
    hot_zip(zips, member)
    dest = tmp_path / "data"
    with serve(zips) as (zip_url, zip_requests):
        monkeypatch.setattr(
            fetch_module, "PUBLIC_ORIGINS", local_origins(data_url, zip_url + "hot.zip")
        )
        fetch_data(dest, progress=False)

    assert zip_requests == ["/hot.zip"]
    assert sha256_file(dest / HOT_FILE) == load_checksums()[HOT_FILE]
    assert data_files(dest) == data_files(DATA)
    assert leftovers(dest) == []


@pytest.mark.parametrize(
    ("member", "payload", "error"),
    [
        (None, None, "cannot find"),
        (Path(HOT_FILE).name, b'{"type": "FeatureCollection", "features": []}', "checksum"),
    ],
    ids=["member-missing", "newer-export"],
)
def test_public_origin_zip_problems(
    tmp_path: Path,
    mirror: tuple[str, list],
    monkeypatch: pytest.MonkeyPatch,
    member: str | None,
    payload: bytes | None,
    error: str,
) -> None:
    data_url, _ = mirror
    hot_zip(tmp_path / "zips", member, payload)
    dest = tmp_path / "data"
    with serve(tmp_path / "zips") as (zip_url, _):
        monkeypatch.setattr(
            fetch_module, "PUBLIC_ORIGINS", local_origins(data_url, zip_url + "hot.zip")
        )
        with pytest.raises(FetchError, match=error) as info:
            fetch_data(dest, progress=False)

    assert "\n" not in str(info.value)
    assert HOT_FILE in str(info.value)
    assert not (dest / HOT_FILE).exists()
    assert leftovers(dest) == []


def test_not_a_zip(
    tmp_path: Path, mirror: tuple[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_url, _ = mirror
    zips = tmp_path / "zips"
    zips.mkdir()
    (zips / "hot.zip").write_bytes(b"<html>maintenance</html>")
    dest = tmp_path / "data"
    with serve(zips) as (zip_url, _):
        monkeypatch.setattr(
            fetch_module, "PUBLIC_ORIGINS", local_origins(data_url, zip_url + "hot.zip")
        )
        with pytest.raises(FetchError, match="cannot unpack") as info:
            fetch_data(dest, progress=False)

    assert "\n" not in str(info.value)
    assert leftovers(dest) == []


@pytest.mark.parametrize("base_url", ["notaurl", "ftp://example.org/data"])
def test_invalid_mirror_address(tmp_path: Path, base_url: str) -> None:
    with pytest.raises(FetchError, match="invalid mirror address") as info:
        fetch_data(tmp_path, base_url=base_url, progress=False)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination(tmp_path: Path, mirror: tuple[str, list]) -> None:
    url, requests = mirror
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(FetchError, match="cannot write") as info:
        fetch_data(not_a_folder, base_url=url, progress=False)
    assert "\n" not in str(info.value)
    assert "--dest" in str(info.value)
    assert requests == []
