"""The lazy snapshot's bookkeeping, as pure data."""

from __future__ import annotations

from cowsnap.snapshot.ledger import Ledger, Verdict


def test_untouched_paths_are_live() -> None:
    assert Ledger().verdict(b"a/b") is Verdict.LIVE


def test_own_capture_decides() -> None:
    ledger = Ledger()
    ledger.record_present(b"a")
    ledger.record_absent(b"b")
    assert ledger.verdict(b"a") is Verdict.PRESERVED
    assert ledger.verdict(b"b") is Verdict.ABSENT


def test_beneath_an_absent_directory_nothing_existed() -> None:
    ledger = Ledger()
    ledger.record_absent(b"new")
    assert ledger.verdict(b"new/x/y") is Verdict.ABSENT


def test_a_subtree_capture_covers_descendants() -> None:
    ledger = Ledger()
    ledger.record_present(b"d", frozenset({b"x"}), subtree=True)
    assert ledger.verdict(b"d/x/deeper") is Verdict.PRESERVED


def test_names_missing_from_a_captured_listing_did_not_exist() -> None:
    ledger = Ledger()
    ledger.record_present(b"d", frozenset({b"old"}))
    assert ledger.verdict(b"d/old") is Verdict.LIVE
    assert ledger.verdict(b"d/appeared/x") is Verdict.ABSENT


def test_a_child_captured_before_its_directory_keeps_its_own_capture() -> None:
    ledger = Ledger()
    ledger.record_present(b"d/gone")
    ledger.record_present(b"d", frozenset())
    assert ledger.verdict(b"d/gone") is Verdict.PRESERVED


def test_the_root_listing_applies_to_top_level_names() -> None:
    ledger = Ledger()
    ledger.record_present(b"", frozenset({b"a"}))
    assert ledger.verdict(b"a") is Verdict.LIVE
    assert ledger.verdict(b"b") is Verdict.ABSENT
    assert ledger.entry(b"") is not None
