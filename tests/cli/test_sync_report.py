"""What `roost sync` says after a pass: routine changes are counted past a screenful, what
needs the person's attention is always listed in full."""

from __future__ import annotations

from cli.files import LIST_PER_KIND, report_lines
from client.sync.engine import PassReport


def test_many_uploads_are_counted_after_the_first_ones() -> None:
    uploaded = [f"small/f{i:05d}.txt" for i in range(LIST_PER_KIND + 9_980)]
    lines = report_lines(PassReport(uploaded=uploaded, downloaded=["b.txt"]))
    assert lines[:LIST_PER_KIND] == [f"uploaded: {p}" for p in uploaded[:LIST_PER_KIND]]
    assert lines[LIST_PER_KIND] == f"uploaded: 9,980 more ({len(uploaded):,} in all)"
    assert lines[LIST_PER_KIND + 1 :] == ["downloaded: b.txt"]


def test_conflicts_and_refusals_are_never_cut_short() -> None:
    copies = [f"n{i} (conflicted copy from b 2026-12-01 120000).txt" for i in range(50)]
    refused = [(f"big{i}.bin", "over the 1 GiB file size limit") for i in range(30)]
    lines = report_lines(PassReport(conflicts=copies, refused=refused))
    assert lines == [f"conflicted copy: {c}" for c in copies] + [
        f"not synced yet: {p}: {why}" for p, why in refused
    ]


def test_exactly_a_screenful_is_listed_without_a_count() -> None:
    deleted = [f"d{i}" for i in range(LIST_PER_KIND)]
    assert report_lines(PassReport(deleted_remote=deleted)) == [
        f"deleted on server: {d}" for d in deleted
    ]
