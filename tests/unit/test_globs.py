"""Auto Loader load paths with Hadoop globs: which directory is listed and which files match."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from palindrom.autoloader.discovery import list_files, matching
from palindrom.autoloader.options import CloudFilesOptionError, glob_regex, split_glob


def test_split_glob_lists_the_longest_plain_prefix():
    assert split_glob("/landing/2024/*/part-*.json") == ("/landing/2024", "*/part-*.json")
    assert split_glob("/landing/{a,b}/x.csv") == ("/landing", "{a,b}/x.csv")
    assert split_glob("/landing/plain") == ("/landing/plain", None)


def test_glob_syntax():
    assert glob_regex("part-?.json").fullmatch("part-1.json")
    assert not glob_regex("*.json").fullmatch("a/b.json")              # * stays in one segment
    assert glob_regex("{2023,2024}/*.csv").fullmatch("2024/x.csv")
    assert not glob_regex("{2023,2024}/*.csv").fullmatch("2025/x.csv")
    assert glob_regex("[a-c]x").fullmatch("bx") and not glob_regex("[^a-c]x").fullmatch("bx")
    with pytest.raises(CloudFilesOptionError, match="unclosed"):
        glob_regex("{a,b")


@given(st.text(alphabet="ab.-_", min_size=1, max_size=8), st.text(alphabet="ab*?", min_size=1, max_size=5))
def test_segment_globs_agree_with_fnmatch(name, pattern):
    # fnmatch (plain Python) is the independent reference for globs without '/', '[' or '{'.
    assert bool(glob_regex(pattern).fullmatch(name)) == fnmatch.fnmatchcase(name, pattern)


def test_matching_reads_files_of_matched_directories(tmp_path: Path):
    for relative in ["2024-01/a.json", "2024-01/deep/b.json", "2024-02/c.json", "2023-12/d.json", "top.json"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}")
    entries = list_files(tmp_path)
    names = lambda found: sorted(Path(e.path).name for e in found)  # noqa: E731
    assert names(matching(entries, tmp_path, "2024-*", recursive=True)) == ["a.json", "b.json", "c.json"]
    assert names(matching(entries, tmp_path, "2024-*", recursive=False)) == ["a.json", "c.json"]
    assert names(matching(entries, tmp_path, "*/*.json", recursive=False)) == ["a.json", "c.json", "d.json"]
