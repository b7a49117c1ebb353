"""bench.sql_ab reads a panel's SQL as it was at another revision, fragments included."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.sql_ab import sql_at


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def test_a_query_at_a_revision_has_that_revisions_fragments(tmp_path: Path) -> None:
    sql = tmp_path / "src" / "livekit_dashboard" / "query" / "sql"
    (sql / "fragments").mkdir(parents=True)
    (sql / "p.sql").write_text("-- panel: p\nSELECT {{outer}}\n")
    (sql / "fragments" / "outer.sql").write_text("-- fragment: outer\n-- params: (none)\n1 + {{inner}}\n")
    (sql / "fragments" / "inner.sql").write_text("-- fragment: inner\n-- params: (none)\n2\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    (sql / "fragments" / "inner.sql").write_text("-- fragment: inner\n-- params: (none)\n3\n")
    git(tmp_path, "commit", "-qam", "second")
    (sql / "fragments" / "inner.sql").write_text("-- fragment: inner\n-- params: (none)\n4\n")  # not committed

    assert sql_at("HEAD~1", "p", tmp_path) == "-- panel: p\nSELECT 1 + 2\n"
    assert sql_at("HEAD", "p", tmp_path) == "-- panel: p\nSELECT 1 + 3\n"
