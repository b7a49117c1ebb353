"""Static files and API docs over real HTTP: gzip where it pays (and only there), Cache-Control that
caches versioned libraries for good and revalidates everything else, the docs' pages under the
server's CSP, and the files in the package (pyproject's package-data)."""

from __future__ import annotations

import gzip
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from livekit_dashboard.server import DashboardServer
from tests.conftest import DatabasePool, serving

PACKAGE = Path(__file__).parent.parent.parent / "src" / "livekit_dashboard"
ECHARTS = "/static/vendor/echarts-6.1.0.esm.min.js"
SWAGGER_JS = "/docs/assets/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js"
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(scope="module")
def url(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[str]:
    server: DashboardServer
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        yield server.base_url


def raw_get(url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (httpx would otherwise undo the gzip)."""
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        return response, b"".join(response.iter_raw())


def csp(response: httpx.Response) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: value for name, value in parts}


def test_echarts_is_sent_gzipped_and_cached_for_a_year(url: str) -> None:
    on_disk = (PACKAGE / "web" / "vendor" / "echarts-6.1.0.esm.min.js").read_bytes()
    response, body = raw_get(f"{url}{ECHARTS}", GZIP)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(body) == on_disk
    assert len(body) < len(on_disk) / 2, (len(body), len(on_disk))
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"].startswith("text/javascript")
    # the compressed bytes are not the file's: a weak ETag, still good for revalidation
    etag = response.headers["ETag"]
    assert etag.startswith('W/"')
    again = httpx.get(f"{url}{ECHARTS}", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_without_accept_encoding_the_file_goes_as_it_is(url: str) -> None:
    on_disk = (PACKAGE / "web" / "vendor" / "echarts-6.1.0.esm.min.js").read_bytes()
    response, body = raw_get(f"{url}{ECHARTS}", {"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert body == on_disk
    assert int(response.headers["Content-Length"]) == len(on_disk)
    assert not response.headers["ETag"].startswith("W/")


def test_a_range_of_a_static_file_is_never_compressed(url: str) -> None:
    on_disk = (PACKAGE / "web" / "vendor" / "echarts-6.1.0.esm.min.js").read_bytes()
    response, body = raw_get(f"{url}{ECHARTS}", {**GZIP, "Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert body == on_disk[1000:2000]


def test_the_uis_own_files_and_pages_are_revalidated_every_time(url: str) -> None:
    response, body = raw_get(f"{url}/static/app.js", GZIP)
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (PACKAGE / "web" / "app.js").read_bytes()
    unchanged = httpx.get(f"{url}/static/app.js", headers={**GZIP, "If-None-Match": response.headers["ETag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    for page in ("/", "/calls", "/docs", "/redoc", "/docs/assets/swagger-init.js"):
        assert httpx.get(f"{url}{page}").headers["Cache-Control"] == "no-cache", page


def test_docs_assets_are_compressed_and_versioned(url: str) -> None:
    response, body = raw_get(f"{url}{SWAGGER_JS}", GZIP)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    bundle = PACKAGE / "api" / "docs_ui" / "vendor" / "swagger-ui-dist-5.35.0" / "swagger-ui-bundle.js"
    assert gzip.decompress(body) == bundle.read_bytes()
    schema, schema_body = raw_get(f"{url}/openapi.json", GZIP)
    assert schema.headers["Content-Encoding"] == "gzip"
    assert b'"/api/v1/calls"' in gzip.decompress(schema_body)


def test_the_json_api_is_not_compressed(url: str) -> None:
    panels = httpx.get(f"{url}/api/v1/panels", headers=GZIP)
    assert panels.status_code == 200
    assert len(panels.content) > 1024  # big enough to be compressed, were the API compressed
    assert "Content-Encoding" not in panels.headers


def test_docs_pages_keep_the_servers_csp(url: str) -> None:
    base = csp(httpx.get(f"{url}/"))
    docs = csp(httpx.get(f"{url}/docs"))
    assert docs == base
    assert docs["script-src"] == "'self'"
    redoc = csp(httpx.get(f"{url}/redoc"))
    # ReDoc's search runs in a worker made from a blob: URL; that is the only difference
    assert redoc == {**base, "worker-src": "'self' blob:"}
    assert redoc["script-src"] == "'self'"
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{url}{page}").text
        assert "<script>" not in html, page
        assert "https://" not in html, page


def test_vendored_files_carry_their_version_in_their_path() -> None:
    """Everything under a vendor/ folder is cached as immutable: a new version must come under a new
    name, so each file's path names a version."""
    folders = [PACKAGE / "web" / "vendor", PACKAGE / "api" / "docs_ui" / "vendor"]
    files = [p for folder in folders for p in folder.rglob("*") if p.is_file() and p.name != "README.md"]
    assert len(files) >= 8
    for path in files:
        assert re.search(r"\d+\.\d+\.\d+", str(path.relative_to(PACKAGE))), path


def test_package_data_ships_the_docs_files() -> None:
    """setuptools' package-data globs (pyproject) take every file the docs pages and the UI need."""
    config = tomllib.loads((PACKAGE.parent.parent / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["livekit_dashboard"]
    shipped = {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}
    needed = [p for folder in ("api/docs_ui", "web") for p in (PACKAGE / folder).rglob("*") if p.is_file()]
    missing = [str(p) for p in needed if p not in shipped and "__pycache__" not in p.parts]
    assert needed
    assert missing == []
