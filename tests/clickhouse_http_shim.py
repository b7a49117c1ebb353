"""A STAND-IN for a ClickHouse server, for tests only: a small HTTP server that speaks the part of
ClickHouse's HTTP interface that clickhouse-connect (and so `HttpEngine`) uses, and runs every statement
on chDB in the test process (chDB is ClickHouse's own engine, so SQL, formats, parameter parsing and
error texts are ClickHouse's).

What it speaks (as a ClickHouse server does, per clickhouse-connect 1.x's requests):
- `POST /` with the statement in the body, or in the `query` URL parameter followed by the body; the
  `query` and `param_*` fields of a multipart form (clickhouse-connect's path for long parameters);
  `GET /?query=...`; `GET /ping`.
- `database`; `param_<name>` values in ClickHouse's escaped text form, handed to chDB as they are;
  every other URL parameter that is not a transport one (`query_id`, `session_id`, `wait_end_of_query`,
  `client_protocol_version`, ...) is a setting, applied with SET for that request only (each request
  runs on a chDB connection of its own, so nothing leaks between requests or threads).
- Results in the format the statement names (`FORMAT Arrow`, `Native`, ...), else TabSeparated, as
  chDB writes them; the `X-ClickHouse-Format`, `-Timezone`, `-Query-Id`, `-Summary` headers.
- `INSERT INTO t (cols) FORMAT <fmt>` with the data in the body (Arrow from `insert_arrow`), read by
  chDB's own input format (`INSERT INTO t (cols) FROM INFILE <the body> FORMAT <fmt>`), with the
  request's settings (`insert_deduplication_token`).
- Errors as ClickHouse sends them: `Code: N. DB::Exception: ...` in the body, the code in
  `X-ClickHouse-Exception-Code`, a 4xx/5xx status.
- Credentials from basic auth, `X-ClickHouse-User`/`-Key` headers or `user`/`password` parameters,
  checked against the one configured user; others get 516 AUTHENTICATION_FAILED (HTTP 403).
- Compression: request bodies with `Content-Encoding` gzip, deflate or lz4; responses compressed
  (lz4, gzip, deflate, in the client's order) only when the request sets `enable_http_compression=1`
  and names one in `Accept-Encoding`, else plain (which HTTP allows whatever the client accepts).

What it does not prove: anything about a real server's own behaviour: sessions (`session_id` is
ignored), readonly GET requests, ClickHouse's native block compression (`compress`/`decompress` are
refused), external data tables, streaming (results are buffered), progress headers, quotas, roles,
users and grants beyond one password, replication, clusters and Keeper, the version of a deployed
server, or a network between client and server. The `client_protocol_version` probe gets Native
without block info, so clickhouse-connect reads Native without a protocol version. Run the same tests
against a real server with LIVEKIT_DASHBOARD_TEST_CLICKHOUSE_URL for those.
"""

from __future__ import annotations

import base64
import contextlib
import email.message
import email.parser
import email.policy
import gzip
import json
import re
import shutil
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ClickHouseHttpShim"]

# URL parameters that are not settings (ClickHouse's HTTPHandler reserves these names, and `param_*`)
_TRANSPORT = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "stacktrace",
        "role",
        "buffer_size",
        "wait_end_of_query",
        "session_id",
        "session_timeout",
        "session_check",
        "client_protocol_version",
        "close_session",
        "compress",
        "decompress",
    }
)
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INSERT = re.compile(rb"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)[ \t]*(?:\r?\n)?", re.IGNORECASE | re.DOTALL)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_RESULT_STATEMENT = re.compile(r"^\s*(\(\s*)*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN|CHECK)\b", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)\. ")

_AUTHENTICATION_FAILED = 516
_NOT_IMPLEMENTED = 48
_BAD_ARGUMENTS = 36
_STD_EXCEPTION = 1001
# ClickHouse's exceptionCodeToHTTPStatus, for the codes tests meet; the rest are 500
_STATUS = {
    _AUTHENTICATION_FAILED: 403,
    192: 403,  # UNKNOWN_USER
    193: 403,  # WRONG_PASSWORD
    194: 401,  # REQUIRED_PASSWORD
    62: 400,  # SYNTAX_ERROR
    _BAD_ARGUMENTS: 400,
    47: 400,  # UNKNOWN_IDENTIFIER
    26: 400,  # CANNOT_PARSE_QUOTED_STRING
    27: 400,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    115: 400,  # UNKNOWN_SETTING
    60: 404,  # UNKNOWN_TABLE
    81: 404,  # UNKNOWN_DATABASE
    46: 404,  # UNKNOWN_FUNCTION
}


class _ClickHouseError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ClickHouseHttpShim:
    """A stand-in ClickHouse HTTP server on 127.0.0.1 (a free port), backed by chDB on `data_dir` (the
    test process's chDB directory: chDB opens one per process)."""

    def __init__(self, data_dir: Path, *, user: str = "shim_user", password: str = "shim-pass") -> None:
        import chdb

        self._chdb = chdb
        self.data_dir = Path(data_dir)
        self.user = user
        self.password = password
        self.requests = 0
        self.settings_seen: list[dict[str, str]] = []  # each request's settings, in arrival order
        self._lock = threading.Lock()
        self._spool = Path(tempfile.mkdtemp(prefix="ch-shim-"))
        # held open while the stand-in runs: a request's own connection is then cheap (with no connection
        # open, each one would start and stop chDB: about half a second)
        self._keeper = chdb.connect(str(self.data_dir))
        version, zone = self._keeper.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().split()
        self.version = f"{version} (chDB stand-in)"
        self.timezone = zone
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="clickhouse-http-shim", daemon=True)
        self._thread.start()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The DSN of this server with the configured (or the given) credentials."""
        return f"http://{user or self.user}:{self.password if password is None else password}@127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._keeper.close()
        shutil.rmtree(self._spool, ignore_errors=True)

    def __enter__(self) -> ClickHouseHttpShim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request -----------------------------------------------------------------------------

    def check_credentials(self, user: str, password: str) -> None:
        if (user, password) != (self.user, self.password):
            raise _ClickHouseError(
                _AUTHENTICATION_FAILED,
                f"Code: {_AUTHENTICATION_FAILED}. DB::Exception: {user}: Authentication failed: password is "
                "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)",
            )

    def execute(self, fields: dict[str, str], body: bytes) -> tuple[bytes, str | None, dict[str, Any]]:
        """Run one request's statement: (output, its format or None for no result, summary)."""
        for name in ("compress", "decompress"):
            if fields.get(name, "0") not in ("0", ""):
                raise _ClickHouseError(
                    _NOT_IMPLEMENTED,
                    f"Code: {_NOT_IMPLEMENTED}. DB::Exception: {name}=1 (native block compression) is not "
                    "supported by the chDB stand-in. (NOT_IMPLEMENTED)",
                )
        params = {key[len("param_") :]: value for key, value in fields.items() if key.startswith("param_")}
        settings = {
            key: value for key, value in fields.items() if key not in _TRANSPORT and not key.startswith("param_")
        }
        with self._lock:
            self.requests += 1
            self.settings_seen.append(settings)
        query = fields.get("query", "").encode()
        text = query + (b"\n" if query and body else b"") + body
        insert = _INSERT.match(text)
        conn = self._chdb.connect(str(self.data_dir))
        try:
            _run(conn, f"USE `{_ident(fields.get('database') or 'default')}`")
            if settings:
                _run(conn, "SET " + ", ".join(f"{_setting(k)} = {_quote(v)}" for k, v in settings.items()))
            started = time.perf_counter_ns()
            if insert:
                data = text[insert.end() :]
                target, fmt = insert.group(1).decode(), insert.group(2).decode()
                spool = self._spool / f"{uuid.uuid4().hex}.data"
                spool.write_bytes(data)
                try:
                    result = _run(conn, f"INSERT INTO {target} FROM INFILE {_quote(str(spool))} FORMAT {fmt}")
                finally:
                    spool.unlink(missing_ok=True)
                return b"", None, _summary(result, started, written=True)
            sql = text.decode()
            if not sql.strip():
                raise _ClickHouseError(
                    _BAD_ARGUMENTS, f"Code: {_BAD_ARGUMENTS}. DB::Exception: Empty query. (BAD_ARGUMENTS)"
                )
            named = _TRAILING_FORMAT.search(sql)
            fmt = named.group(1) if named else fields.get("default_format") or "TabSeparated"
            result = _run(conn, sql, fmt, params)
            output = result.bytes() or b""
            produces = bool(named or _RESULT_STATEMENT.match(sql) or output)
            return output, fmt if produces else None, _summary(result, started, written=False)
        finally:
            with contextlib.suppress(Exception):
                conn.close()


def _run(conn: Any, sql: str, fmt: str = "TabSeparated", params: dict[str, str] | None = None) -> Any:
    try:
        return conn.query(sql, fmt, params=params or {})
    except Exception as exc:
        message = str(exc).strip() or type(exc).__name__
        code = _CODE.search(message)
        if code is None:
            message = f"Code: {_STD_EXCEPTION}. DB::Exception: {message}. (STD_EXCEPTION)"
        raise _ClickHouseError(int(code.group(1)) if code else _STD_EXCEPTION, message) from exc


def _summary(result: Any, started: int, *, written: bool) -> dict[str, Any]:
    rows = int(getattr(result, "rows_read", lambda: 0)() or 0) if result is not None else 0
    size = int(getattr(result, "bytes_read", lambda: 0)() or 0) if result is not None else 0
    return {
        "read_rows": "0" if written else str(rows),
        "read_bytes": "0" if written else str(size),
        "written_rows": str(rows) if written else "0",
        "written_bytes": str(size) if written else "0",
        "elapsed_ns": str(time.perf_counter_ns() - started),
    }


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
        raise _ClickHouseError(81, f"Code: 81. DB::Exception: Database {name} does not exist. (UNKNOWN_DATABASE)")
    return name


def _setting(name: str) -> str:
    if not _SETTING_NAME.match(name):
        raise _ClickHouseError(115, f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)")
    return name


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    return user, password


def _decode_body(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "lz4":
        import lz4.frame  # type: ignore[import-untyped]

        return bytes(lz4.frame.decompress(body))
    raise _ClickHouseError(
        _NOT_IMPLEMENTED,
        f"Code: {_NOT_IMPLEMENTED}. DB::Exception: Content-Encoding {encoding} is not supported "
        "by the chDB stand-in. (NOT_IMPLEMENTED)",
    )


def _compress(data: bytes, accept: str) -> tuple[bytes, str | None]:
    for method in (m.split(";")[0].strip().lower() for m in accept.split(",")):
        if method == "gzip":
            return gzip.compress(data), method
        if method == "deflate":
            return zlib.compress(data), method
        if method == "lz4":
            with contextlib.suppress(ImportError):
                import lz4.frame

                return bytes(lz4.frame.compress(data)), method
    return data, None


def _form_fields(content_type: str, body: bytes) -> Iterator[tuple[str, str]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert isinstance(message, email.message.EmailMessage)
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            raise _ClickHouseError(
                _NOT_IMPLEMENTED,
                f"Code: {_NOT_IMPLEMENTED}. DB::Exception: external data is not supported by the chDB stand-in. "
                "(NOT_IMPLEMENTED)",
            )
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            yield name, payload.decode()


def _handler(shim: ClickHouseHttpShim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's pooled connections expect
        server_version = "ClickHouse-stand-in"
        disable_nagle_algorithm = True  # headers and body are two writes: Nagle + delayed ACK cost 40 ms

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path.rstrip("/") == "/ping" or (url.path == "/" and not url.query and not raw):
                self._reply(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
                return
            fields = dict(parse_qsl(url.query, keep_blank_values=True))
            query_id = fields.get("query_id") or str(uuid.uuid4())
            headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": shim.timezone}
            try:
                shim.check_credentials(*self._credentials(fields))
                body = _decode_body(raw, self.headers.get("Content-Encoding", ""))
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("multipart/form-data"):
                    fields.update(_form_fields(content_type, body))
                    body = b""
                output, fmt, summary = shim.execute(fields, body)
            except Exception as exc:
                if not isinstance(exc, _ClickHouseError):  # the stand-in's own fault: still a ClickHouse error
                    exc = _ClickHouseError(
                        _STD_EXCEPTION, f"Code: {_STD_EXCEPTION}. DB::Exception: {exc!r}. (STD_EXCEPTION)"
                    )
                text = f"{exc} (version {shim.version})\n".encode()
                headers.update(
                    {"X-ClickHouse-Exception-Code": str(exc.code), "Content-Type": "text/plain; charset=UTF-8"}
                )
                self._reply(_STATUS.get(exc.code, 500), text, headers)
                return
            headers["X-ClickHouse-Summary"] = json.dumps(summary)
            if fmt is not None:
                headers["X-ClickHouse-Format"] = fmt
            if fields.get("enable_http_compression") == "1" and output:
                output, encoding = _compress(output, self.headers.get("Accept-Encoding", ""))
                if encoding:
                    headers["Content-Encoding"] = encoding
            self._reply(200, output, headers)

        def _credentials(self, fields: dict[str, str]) -> tuple[str, str]:
            basic = _basic(self.headers.get("Authorization", ""))
            if basic is not None:
                return basic
            if "X-ClickHouse-User" in self.headers:
                return self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key", "")
            return fields.get("user", "default"), fields.get("password", "")

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
