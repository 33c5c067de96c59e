"""The file manifest behind cloudFiles offsets: each file admitted once, in a stable order."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from palindrom.autoloader.discovery import FileEntry, Manifest, list_files


def test_listing_skips_hidden_and_underscore_files_and_orders_by_time(tmp_path):
    for name, mtime in [("b.json", 20), ("a.json", 10), ("_SUCCESS", 5), (".part.crc", 5), ("c.json", 10)]:
        (tmp_path / name).write_text("{}")
        os.utime(tmp_path / name, (mtime, mtime))
    (tmp_path / "_temporary").mkdir()
    (tmp_path / "_temporary" / "x.json").write_text("{}")
    assert [os.path.basename(e.path) for e in list_files(tmp_path)] == ["a.json", "c.json", "b.json"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), max_size=6), max_size=6))
def test_files_admitted_in_batches_are_read_back_exactly_once(tmp_path_factory, batches):
    state = tmp_path_factory.mktemp("state")
    manifest = Manifest.create(state)
    seq, admitted = 0, []
    for batch in batches:
        new = []
        for number in batch:
            path = f"/landing/{number}.json"
            if path in manifest.entries or any(e.path == path for e in new):
                continue  # a file already admitted is never admitted again
            seq += 1
            new.append(FileEntry(seq, path, 1, number))
        manifest.append(new)
        admitted.extend(new)
    reopened = Manifest(manifest.directory)  # a restart reads the same manifest
    assert reopened.last_seq == seq
    assert reopened.between(0, seq) == admitted
    half = seq // 2
    assert reopened.between(0, half) + reopened.between(half, seq) == admitted
