"""Near-duplicate detection: signatures, clustering, audit.

The fixtures are made-up news articles and the edits a syndication feed makes to them (a few
words changed, a "Read more" footer, a dropped last sentence, a new headline). Each variant's
exact shingle Jaccard to its original is asserted to lie in [0.6, 0.95], so the clustering
tests really test near (not exact, not distant) duplicates.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import rensa
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import config, dedup, tokens
from corpuskit.config import NearDupConfig, choose_bands_rows
from corpuskit.dedup import (
    AuditResult,
    NearDupIndex,
    estimate_jaccard,
    exact_jaccard,
    shingle_tokens,
    signatures,
)
from corpuskit.errors import ConfigError
from corpuskit.tokens import TokenBatch

CONFIG = NearDupConfig()

FERRY_TITLE = "Council approves new ferry link to Alder Island"
FERRY = (
    "Council approves new ferry link to Alder Island\n\n"
    "The Riverside county council voted on Tuesday evening to fund a year-round ferry service "
    "between the old harbour and Alder Island, ending more than a decade of debate about how "
    "the island's eleven hundred residents should reach the mainland in winter. The motion "
    "passed by nine votes to four after a three-hour meeting that drew a standing crowd.\n\n"
    "Under the plan, a battery-powered vessel carrying up to sixty passengers and eight cars "
    "will make twelve crossings a day from April next year. The council will pay for the boat "
    "with a regional transport grant and expects fares to cover most of the running costs "
    "within five years.\n\n"
    "Island residents have relied on a private water taxi since the last public ferry was "
    "withdrawn in 2011. Several speakers told the meeting that patients had missed hospital "
    "appointments when storms cancelled the taxi for days at a time.\n\n"
    "Opponents argued that the harbour car park could not absorb the extra traffic and that "
    "the grant would be better spent on repairing the coastal road. Councillor Mara Lindqvist, "
    "who voted against, said the budget assumed passenger numbers the island had never seen.\n\n"
    "A public consultation on the timetable opens next month, and the first sea trials of "
    "the new vessel are planned for the end of the winter."
)

ORCHARD = (
    "Late frost cuts apple harvest across the valley\n\n"
    "Fruit growers in the northern valley expect to pick barely half of a normal apple crop "
    "this autumn after two nights of hard frost in late April destroyed blossom in orchards "
    "that had flowered unusually early. The growers' cooperative said on Monday that losses "
    "were heaviest on the lower slopes, where cold air settled before dawn.\n\n"
    "Some farms used wind machines and overhead sprinklers to protect the trees, a technique "
    "that coats blossom in a thin layer of ice and keeps it just above the damaging "
    "temperature. Those orchards reported much smaller losses, but the equipment is expensive "
    "and few small growers can afford it.\n\n"
    "The cooperative warned that juice producers and cider makers would have to buy fruit "
    "from outside the region, and that shoppers could see higher prices for local apples "
    "before Christmas. It has asked the agriculture ministry for emergency support to help "
    "growers pay seasonal pickers who had already been hired.\n\n"
    "Meteorologists said spring frosts after early flowering were becoming more common as "
    "winters grow milder, and advised growers to consider late-blooming varieties when they "
    "replant."
)

LIBRARY = (
    "City library to stay open until midnight during exam season\n\n"
    "The central library will extend its opening hours until midnight for six weeks from "
    "the start of May, the city's culture department announced on Thursday, after students "
    "complained that there was nowhere quiet to revise in the evenings. The reading rooms on "
    "the second and third floors will stay open, while the lending desk will close at the "
    "usual time of eight o'clock.\n\n"
    "The trial will cost about forty thousand euros, mostly for extra security staff and "
    "cleaning. A spokesperson said the department would count visitors every hour and decide "
    "in the summer whether late opening should become permanent.\n\n"
    "Student unions welcomed the decision but asked for the café to stay open as well and for "
    "more power sockets near the desks. Local residents raised concerns about noise in the "
    "square outside when the building empties late at night, and the department promised to "
    "review the arrangements after the first fortnight."
)

# Syndicated copies of FERRY, as a feed would publish them.
FERRY_EDITED_WORDS = (
    FERRY.replace("Tuesday evening", "Tuesday night")
    .replace("eleven hundred", "1,100")
    .replace("sixty passengers", "70 passengers")
    .replace("three-hour meeting", "four-hour meeting")
    .replace("end of the winter", "end of winter")
)
FERRY_READ_MORE = (
    "This story was first published by the Riverside Gazette and is republished here with "
    "permission as part of our regional news partnership.\n\n"
    + FERRY
    + "\n\nRead more »\nShare this article: Facebook · X · Email"
)
FERRY_DROPPED_LAST = FERRY.rsplit("\n\n", 1)[0]
FERRY_NEW_HEADLINE = FERRY.replace(
    FERRY_TITLE, "Alder Island finally gets its winter ferry after ten years of arguments"
)
FERRY_VARIANTS = {
    "edited-words": FERRY_EDITED_WORDS,
    "read-more-footer": FERRY_READ_MORE,
    "dropped-last-paragraph": FERRY_DROPPED_LAST,
    "new-headline": FERRY_NEW_HEADLINE,
}

# Shares FERRY's first half and then tells a different story: well below the threshold.
FERRY_HALF = (
    FERRY.split("Island residents have relied")[0]
    + "Harbour businesses welcomed the decision. The owner of a seafood restaurant on the quay "
    "said she expected more visitors in the quiet months, and the tourist office plans a "
    "new walking trail on the island to attract day trippers. Ticket prices will be set in "
    "the autumn after talks with the operator, and season passes will be offered to "
    "students and pensioners at a reduced rate."
)

ZH = (
    "河滨市议会周二晚间投票通过决议，为旧港与白桤岛之间的全年渡轮服务提供资金，结束了十多年来关于岛上"
    "一千一百名居民冬季如何往返大陆的争论。该动议在长达三个小时的会议后以九票对四票获得通过。根据计划，"
    "一艘可搭载六十名乘客和八辆汽车的电动渡轮将从明年四月起每天往返十二班。议会将利用地区交通补助购买"
    "渡轮，并预计票价收入将在五年内覆盖大部分运营成本。自二零一一年最后一班公共渡轮停运以来，岛上居民"
    "一直依靠私人水上出租车出行。多名发言者在会上表示，由于暴风雨导致水上出租车连续多日停运，曾有病人"
    "错过医院预约。"
)
ZH_VARIANT = (
    ZH.replace("周二晚间", "周二").replace("九票对四票", "九比四").replace("十二班", "十四班")
    + "（来源：河滨日报）"
)
JA = (
    "リバーサイド郡議会は火曜日の夜、旧港とアルダー島を結ぶ通年のフェリー運航に資金を出すことを可決し、"
    "島の住民千百人が冬にどのように本土へ渡るかをめぐる十年以上の議論に終止符を打った。動議は三時間に"
    "及ぶ会議の末、賛成九、反対四で可決された。計画によると、乗客六十人と車八台を運べる電気推進の船が"
    "来年四月から一日十二往復する。議会は地域交通補助金で船を購入し、運賃収入で五年以内に運航費の大半を"
    "賄えると見込んでいる。二〇一一年に最後の公営フェリーが廃止されて以来、島民は民間の水上タクシーに"
    "頼ってきた。"
)
JA_VARIANT = (
    JA.replace("火曜日の夜", "火曜日").replace("三時間", "四時間").replace("十二往復", "十四往復")
    + "（リバーサイド新聞より転載）"
)


def _sig(text: str) -> bytes:
    return signatures([text], CONFIG)[0]


def _cluster_of(texts: list[str]) -> list[list[int]]:
    index = NearDupIndex(CONFIG)
    index.add_many(list(range(len(texts))), signatures(texts, CONFIG))
    return index.clusters()


ALL_FIXTURES = [FERRY, *FERRY_VARIANTS.values(), ORCHARD, LIBRARY, FERRY_HALF, ZH, ZH_VARIANT]
ALL_SIGS = signatures(ALL_FIXTURES, CONFIG)


# --- fixtures are what they claim to be ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FERRY_VARIANTS))
def test_syndicated_variant_is_a_near_not_exact_duplicate(name: str) -> None:
    assert 0.6 <= exact_jaccard(FERRY, FERRY_VARIANTS[name]) <= 0.95


@pytest.mark.parametrize(
    ("original", "variant"), [(ZH, ZH_VARIANT), (JA, JA_VARIANT)], ids=["zh", "ja"]
)
def test_cjk_variant_is_a_near_not_exact_duplicate(original: str, variant: str) -> None:
    assert 0.6 <= exact_jaccard(original, variant) <= 0.95


def test_half_shared_article_is_well_below_threshold() -> None:
    assert 0.2 <= exact_jaccard(FERRY, FERRY_HALF) <= 0.4


# --- clustering ------------------------------------------------------------------------------


def test_syndicated_variants_cluster_with_their_original() -> None:
    texts = [FERRY, *FERRY_VARIANTS.values()]
    assert _cluster_of(texts) == [list(range(len(texts)))]


@pytest.mark.parametrize("name", sorted(FERRY_VARIANTS))
def test_each_variant_alone_clusters_with_the_original(name: str) -> None:
    assert _cluster_of([FERRY, FERRY_VARIANTS[name]]) == [[0, 1]]


def test_unrelated_articles_do_not_cluster() -> None:
    assert _cluster_of([FERRY, ORCHARD, LIBRARY, ZH, JA]) == []


def test_article_well_below_threshold_does_not_cluster() -> None:
    assert _cluster_of([FERRY, FERRY_HALF]) == []


@pytest.mark.parametrize(
    ("original", "variant"), [(ZH, ZH_VARIANT), (JA, JA_VARIANT)], ids=["zh", "ja"]
)
def test_cjk_near_copies_cluster(original: str, variant: str) -> None:
    assert _cluster_of([original, variant, ORCHARD]) == [[0, 1]]


@settings(max_examples=50, deadline=None)
@given(order=st.permutations(range(len(ALL_FIXTURES))), offset=st.integers(-(10**12), 10**12))
def test_clusters_do_not_depend_on_insertion_order(order: list[int], offset: int) -> None:
    reference = NearDupIndex(CONFIG)
    reference.add_many([offset + i for i in range(len(ALL_SIGS))], ALL_SIGS)
    shuffled = NearDupIndex(CONFIG)
    for i in order:
        shuffled.add(offset + i, ALL_SIGS[i])
    assert shuffled.clusters() == reference.clusters()


def test_clusters_are_sorted_within_and_by_first_key() -> None:
    index = NearDupIndex(CONFIG)
    keyed = {50: FERRY, 7: ZH, 30: FERRY_DROPPED_LAST, 3: ORCHARD, 90: FERRY_NEW_HEADLINE}
    keyed[11] = ZH_VARIANT
    for key, text in keyed.items():
        index.add(key, _sig(text))
    assert index.clusters() == [[7, 11], [30, 50, 90]]


def test_adding_after_clustering_updates_the_clusters() -> None:
    index = NearDupIndex(CONFIG)
    index.add(1, _sig(FERRY))
    index.add(2, _sig(ORCHARD))
    assert index.clusters() == []
    index.add(3, _sig(FERRY_EDITED_WORDS))
    assert index.clusters() == [[1, 3]]


def test_transitive_copies_form_one_cluster() -> None:
    # Each step changes a different sentence: the ends of the chain may be below threshold,
    # but connected components put all of them in one cluster (one split).
    steps = [FERRY]
    for old, new in [
        ("standing crowd", "packed public gallery"),
        ("battery-powered vessel", "hybrid electric boat"),
        ("private water taxi", "small private launch"),
        ("coastal road", "crumbling sea wall road"),
        ("public consultation", "formal public hearing"),
        ("regional transport grant", "national infrastructure fund"),
    ]:
        steps.append(steps[-1].replace(old, new))
    assert _cluster_of(steps) == [list(range(len(steps)))]


def test_many_copies_in_one_bucket_form_one_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    # More copies than the all-pairs limit, so the bucket goes through the leader path.
    rng = random.Random(3)
    words = FERRY.split()
    copies = []
    for _ in range(3 * dedup.index._BIG_BUCKET):
        edited = list(words)
        for _ in range(3):
            edited[rng.randrange(len(edited))] = rng.choice(["harbour", "island", "ferry"])
        copies.append(" ".join(edited))
    buckets = _spy_on_big_buckets(monkeypatch)
    assert _cluster_of([*copies, ORCHARD, LIBRARY]) == [list(range(len(copies)))]
    assert buckets  # the leader path was taken


def _bucket_sharing_signatures(n: int, seed: int) -> list[bytes]:
    """Random signatures that all share their first band, so they land in one big bucket."""
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32 - 1, size=(n, CONFIG.num_perm), dtype=np.uint32)
    sigs[:, : CONFIG.rows] = 12345
    return [row.astype("<u4").tobytes() for row in sigs]


def _spy_on_big_buckets(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every bucket that goes through the leader path."""
    sizes: list[int] = []
    real = dedup.index._leader_edges

    def spy(matrix: np.ndarray, bucket: np.ndarray, min_matches: int) -> tuple[np.ndarray, ...]:
        sizes.append(len(bucket))
        return real(matrix, bucket, min_matches)

    monkeypatch.setattr(dedup.index, "_leader_edges", spy)
    return sizes


def test_big_bucket_of_unrelated_signatures_does_not_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buckets = _spy_on_big_buckets(monkeypatch)
    index = NearDupIndex(CONFIG)
    index.add_many(list(range(500)), _bucket_sharing_signatures(500, seed=1))
    assert index.clusters() == []
    assert buckets == [500]


# --- signatures ------------------------------------------------------------------------------


def test_signature_is_rensas_digest_as_little_endian_uint32() -> None:
    toks = TokenBatch.from_texts([FERRY])
    hashes, _ = dedup.minhash._shingle_hashes(toks.hashes, toks.counts, 5)
    digest = rensa.RMinHash.digest_matrix_from_token_hash_sets(
        [hashes.tolist()], CONFIG.num_perm, CONFIG.seed
    ).to_rows()[0]
    assert _sig(FERRY) == b"".join(slot.to_bytes(4, "little") for slot in digest)


def test_signatures_are_identical_in_a_fresh_process() -> None:
    script = textwrap.dedent(
        """
        import json, sys
        from corpuskit.config import NearDupConfig
        from corpuskit.dedup import signatures
        texts = json.load(sys.stdin)
        print(json.dumps([s.hex() for s in signatures(texts, NearDupConfig())]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(ALL_FIXTURES),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "RAYON_NUM_THREADS": "1", "PATH": ""},
    )
    assert json.loads(done.stdout) == [s.hex() for s in ALL_SIGS]


def test_batching_does_not_change_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_CHUNK_CHARS", 500)  # forces many tokenising sub-batches
    monkeypatch.setattr(dedup.minhash, "_CHUNK_TOKENS", 50)  # and many signature sub-batches
    assert signatures(ALL_FIXTURES, CONFIG) == ALL_SIGS
    assert [_sig(t) for t in ALL_FIXTURES] == ALL_SIGS


def test_seed_changes_the_signature() -> None:
    other = NearDupConfig(seed=2)
    assert signatures([FERRY], other)[0] != _sig(FERRY)


@pytest.mark.parametrize("text", ["", " ", "\n\n", "!!! ??? …", "a", "two words", "東", "🙂"])
def test_empty_and_very_short_texts_get_a_signature(text: str) -> None:
    assert len(_sig(text)) == 4 * CONFIG.num_perm


def test_empty_batch_gives_no_signatures() -> None:
    assert signatures([], CONFIG) == []


def test_texts_without_tokens_never_cluster() -> None:
    assert _cluster_of(["", "", "!!!", "—", FERRY]) == []


def test_short_identical_texts_cluster_as_one_whole_text_shingle() -> None:
    assert _cluster_of(["Breaking news today", "breaking NEWS, today!", "Breaking news"]) == [
        [0, 1]
    ]


def test_estimate_is_within_0_1_of_exact_jaccard() -> None:
    pairs = [(FERRY, v) for v in FERRY_VARIANTS.values()]
    pairs += [(FERRY, FERRY_HALF), (FERRY, ORCHARD), (ZH, ZH_VARIANT), (JA, JA_VARIANT)]
    for a, b in pairs:
        assert abs(estimate_jaccard(_sig(a), _sig(b)) - exact_jaccard(a, b)) <= 0.1


def test_estimate_of_identical_signatures_is_one() -> None:
    assert estimate_jaccard(_sig(FERRY), _sig(FERRY)) == 1.0


def test_estimate_against_an_empty_signature_is_zero() -> None:
    empty = _sig("")
    assert estimate_jaccard(empty, empty) == 0.0
    assert estimate_jaccard(empty, _sig(FERRY)) == 0.0


def test_estimate_rejects_signatures_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="same"):
        estimate_jaccard(_sig(FERRY), signatures([FERRY], NearDupConfig(num_perm=64))[0])


# --- tokens and exact Jaccard ----------------------------------------------------------------


def test_tokens_are_casefolded_words_without_punctuation() -> None:
    assert shingle_tokens("The FERRY's new timetable — “12 crossings”, Straße!") == [
        "the", "ferry", "s", "new", "timetable", "12", "crossings", "strasse",
    ]  # fmt: skip


def test_tokens_keep_combining_marks_inside_words() -> None:
    assert shingle_tokens("हिन्दी समाचार") == ["हिन्दी", "समाचार"]


def test_tokens_split_chinese_and_japanese_into_characters() -> None:
    assert shingle_tokens("东京は晴れ, Tokyo") == ["东", "京", "は", "晴", "れ", "tokyo"]


def test_tokens_are_nfkc_normalised() -> None:
    assert shingle_tokens("ﬁnal ＡＢＣ") == shingle_tokens("final abc")


def test_exact_jaccard_of_texts_without_tokens_is_zero() -> None:
    assert exact_jaccard("", "") == 0.0
    assert exact_jaccard("", FERRY) == 0.0


def test_signature_shingles_match_exact_jaccard_shingles() -> None:
    # The vectorised hashing and the string shingles must see the same sets.
    for text in ALL_FIXTURES:
        toks = TokenBatch.from_texts([text])
        hashes, _ = dedup.minhash._shingle_hashes(toks.hashes, toks.counts, 5)
        assert len(np.unique(hashes)) == len(dedup.minhash._shingle_set(text, 5))


# --- recall ----------------------------------------------------------------------------------


def _perturbed_pairs(n: int, seed: int) -> list[tuple[str, str, float]]:
    """Random articles and copies with random word edits, exact J spread over [0.65, 1]."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnoprstuvwyz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(4000)]
    bins = [0] * 7  # 0.05-wide bins over [0.65, 1.0], so near-threshold pairs are not rare
    pairs: list[tuple[str, str, float]] = []
    while len(pairs) < n:
        words = rng.choices(vocab, k=rng.randint(120, 400))
        rate = rng.uniform(0.0, 0.08)
        copy: list[str] = []
        for word in words:
            r = rng.random()
            if r < rate / 3:
                continue  # deleted
            copy.append(rng.choice(vocab) if r < 2 * rate / 3 else word)
            if 2 * rate / 3 <= r < rate:
                copy.append(rng.choice(vocab))  # inserted
        a, b = " ".join(words), " ".join(copy)
        j = exact_jaccard(a, b)
        if 0.65 <= j <= 1.0:
            b_ = min(int((j - 0.65) / 0.05), 6)
            if bins[b_] < n / 7:
                bins[b_] += 1
                pairs.append((a, b, j))
    return pairs


def test_lsh_and_verification_find_99_percent_of_pairs_above_0_65() -> None:
    pairs = _perturbed_pairs(700, seed=11)
    texts = [t for a, b, _ in pairs for t in (a, b)]
    index = NearDupIndex(CONFIG)
    index.add_many(list(range(len(texts))), signatures(texts, CONFIG))
    cluster_of = {key: i for i, cluster in enumerate(index.clusters()) for key in cluster}
    found = sum(
        cluster_of.get(2 * i, -1) == cluster_of.get(2 * i + 1, -2) for i in range(len(pairs))
    )
    assert found / len(pairs) >= 0.99


# --- banding and config ----------------------------------------------------------------------


def test_default_banding_is_32_bands_of_4_rows() -> None:
    assert (CONFIG.bands, CONFIG.rows) == (32, 4)


@given(threshold=st.floats(0.05, 1.0), num_perm=st.sampled_from([16, 64, 100, 128, 256]))
def test_banding_uses_every_slot_and_meets_recall_at_threshold(
    threshold: float, num_perm: int
) -> None:
    bands, rows = choose_bands_rows(threshold, num_perm)
    p_candidate = 1 - (1 - threshold**rows) ** bands
    assert bands * rows == num_perm
    # One row per band is the most recall there is, for tiny thresholds or num_perm.
    assert rows == 1 or p_candidate >= config.MIN_CANDIDATE_PROBABILITY_AT_THRESHOLD


@given(threshold=st.floats(0.01, 1.0), num_perm=st.integers(1, 512))
def test_min_matches_is_the_smallest_count_reaching_the_threshold(
    threshold: float, num_perm: int
) -> None:
    m = NearDupConfig(threshold=threshold, num_perm=num_perm).min_matches
    assert m / num_perm >= threshold
    assert m == 0 or (m - 1) / num_perm < threshold


@pytest.mark.parametrize(
    "kwargs", [{"threshold": 0.0}, {"threshold": 1.5}, {"shingle_size": 0}, {"num_perm": 0}]
)
def test_invalid_config_raises_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        NearDupConfig(**kwargs)  # type: ignore[arg-type]


# --- index bookkeeping -----------------------------------------------------------------------


def test_adding_a_key_twice_is_an_error() -> None:
    index = NearDupIndex(CONFIG)
    index.add(1, _sig(FERRY))
    index.add(1, _sig(ORCHARD))
    with pytest.raises(ValueError, match="more than once"):
        index.clusters()


def test_signature_of_the_wrong_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected 512"):
        NearDupIndex(CONFIG).add(1, b"\x00" * 100)


def test_key_outside_int64_is_rejected() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        NearDupIndex(CONFIG).add(2**64, _sig(FERRY))


def test_memory_bytes_counts_the_signatures() -> None:
    index = NearDupIndex(CONFIG)
    index.add_many(list(range(1000)), [_sig(FERRY)] * 1000)
    assert index.memory_bytes() >= 1000 * 4 * CONFIG.num_perm
    index.clusters()
    assert 1000 * 4 * CONFIG.num_perm <= index.memory_bytes() < 3 * 1000 * 4 * CONFIG.num_perm


# --- cross-split audit -----------------------------------------------------------------------


def _audit(split_of: dict[int, str]) -> AuditResult:
    index = NearDupIndex(CONFIG)
    texts = [FERRY, FERRY_EDITED_WORDS, ORCHARD, LIBRARY, FERRY_HALF]
    index.add_many(list(range(len(texts))), signatures(texts, CONFIG))
    return index.cross_split_audit(split_of)


def test_audit_reports_a_leak_when_a_cluster_is_split() -> None:
    result = _audit({0: "train", 1: "eval", 2: "train", 3: "eval", 4: "train"})
    assert result.eval_with_train_copy == 1
    assert result.max_cross_similarity >= CONFIG.threshold
    assert result.examples[0][:2] == (1, 0)


def test_audit_reports_no_leak_when_the_cluster_stays_together() -> None:
    result = _audit({0: "eval", 1: "eval", 2: "train", 3: "eval", 4: "train"})
    assert result.eval_with_train_copy == 0
    assert result.max_cross_similarity < CONFIG.threshold
    assert result.complete


def test_audit_ignores_keys_without_a_split() -> None:
    assert _audit({0: "train", 2: "eval"}).eval_with_train_copy == 0


def test_audit_compares_big_buckets_exhaustively_across_splits() -> None:
    # Keys 100 and 250 agree on 97 of 128 slots but share only the big bucket's band, and
    # neither is one of its leaders: only an exhaustive comparison finds the pair.
    sigs = np.frombuffer(b"".join(_bucket_sharing_signatures(300, seed=2)), dtype="<u4")
    sigs = sigs.reshape(300, CONFIG.num_perm).copy()
    sigs[250] = sigs[100]
    sigs[250, CONFIG.rows :: CONFIG.rows] += 1  # one different slot in every other band
    index = NearDupIndex(CONFIG)
    index.add_many(list(range(300)), [row.tobytes() for row in sigs])
    result = index.cross_split_audit({k: ("eval" if k == 250 else "train") for k in range(300)})
    assert result.eval_with_train_copy == 1
    assert result.examples == ((250, 100, 97 / 128),)
    assert result.complete


# --- the leader path of big buckets, against a reference, at small block and leader caps -----


def _grouped_bucket(
    groups: int, per_group: int, seed: int, hug: bool = False
) -> tuple[np.ndarray, list[int]]:
    """Signatures that all share their first band (one big bucket), made of ``groups`` groups
    of near-copies (each copy keeps ~95 % of its group's slots; groups share only that band),
    shuffled; and each row's group. With ``hug``, some copies keep exactly ``min_matches``
    slots of their group's and some one fewer: pairs right at the verification bar."""
    rng = np.random.default_rng(seed)
    bases = rng.integers(0, 2**32 - 1, size=(groups, CONFIG.num_perm), dtype=np.uint32)
    labels = [g for g in range(groups) for _ in range(per_group)]
    rng.shuffle(labels)
    matrix = bases[labels].copy()
    matrix[:, : CONFIG.rows] = 12345
    at_bar = CONFIG.num_perm - CONFIG.min_matches
    first: dict[int, int] = {}  # group -> its first row (which becomes a leader)
    for i, group in enumerate(labels):
        hugging = hug and group in first and rng.random() < 0.4
        if hugging:
            matrix[i] = matrix[first[group]]
        first.setdefault(group, i)
        edits = int(rng.choice([at_bar, at_bar + 1])) if hugging else CONFIG.num_perm // 20
        edited = CONFIG.rows + rng.choice(CONFIG.num_perm - CONFIG.rows, size=edits, replace=False)
        matrix[i, edited] = rng.integers(0, 2**32 - 1, size=len(edited), dtype=np.uint32)
    return matrix, labels


def _reference_leader_edges(
    matrix: np.ndarray, bucket: list[int], min_matches: int, block: int, max_leaders: int
) -> set[tuple[int, int, int]]:
    """The leader path's rule, one member at a time: a member is compared with the leaders
    of its block's start; one that matches none is compared with the leaders added earlier in
    its block and, matching none of those either, becomes a leader while there is room."""

    def matches(a: int, b: int) -> int:
        return int(np.count_nonzero(matrix[a] == matrix[b]))

    leaders = [bucket[0]]
    edges: set[tuple[int, int, int]] = set()
    for start in range(1, len(bucket), block):
        at_start = list(leaders)
        for member in bucket[start : start + block]:
            hits = [(lead, member, matches(lead, member)) for lead in at_start]
            hits = [h for h in hits if h[2] >= min_matches]
            if not hits and len(at_start) < max_leaders:
                hits = [(lead, member, matches(lead, member)) for lead in leaders[len(at_start) :]]
                hits = [h for h in hits if h[2] >= min_matches]
                if not hits and len(leaders) < max_leaders:
                    leaders.append(member)
            edges.update(hits)
    return edges


@pytest.mark.parametrize(("block", "max_leaders"), [(7, 64), (7, 3), (1, 2), (256, 64), (5, 5)])
def test_leader_edges_are_exactly_the_leader_rule(
    monkeypatch: pytest.MonkeyPatch, block: int, max_leaders: int
) -> None:
    monkeypatch.setattr(dedup.index, "_LEADER_BLOCK", block)
    monkeypatch.setattr(dedup.index, "_MAX_LEADERS", max_leaders)
    matrix, _ = _grouped_bucket(groups=5, per_group=12, seed=block * 100 + max_leaders, hug=True)
    bucket = list(range(len(matrix)))
    left, right, count = dedup.index._leader_edges(matrix, np.asarray(bucket), CONFIG.min_matches)
    got = set(zip(left.tolist(), right.tolist(), count.tolist(), strict=True))
    assert len(got) == len(left)  # no edge twice
    assert got == _reference_leader_edges(matrix, bucket, CONFIG.min_matches, block, max_leaders)


def test_a_member_matching_a_leader_exactly_at_the_bar_does_not_lead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # H agrees with the leader L on exactly min_matches slots; T is H's twin but agrees with L
    # on fewer. H must join L (not lead), so T starts a group of its own: no (H, T) edge.
    monkeypatch.setattr(dedup.index, "_LEADER_BLOCK", 1)
    rng = np.random.default_rng(5)
    lead = rng.integers(0, 2**32 - 1, size=CONFIG.num_perm, dtype=np.uint32)
    h = lead.copy()
    h[CONFIG.min_matches :] += 1
    t = h.copy()
    t[0] += 1
    left, right, count = dedup.index._leader_edges(
        np.stack([lead, h, t]), np.arange(3), CONFIG.min_matches
    )
    assert list(zip(left.tolist(), right.tolist(), count.tolist(), strict=True)) == [
        (0, 1, CONFIG.min_matches)
    ]


def test_groups_sharing_one_big_bucket_cluster_by_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # Five stories whose copies all share one band: the bucket is far over the all-pairs
    # limit, so only the leader path can tell the stories apart.
    monkeypatch.setattr(dedup.index, "_LEADER_BLOCK", 7)
    matrix, labels = _grouped_bucket(groups=5, per_group=3 * dedup.index._BIG_BUCKET // 5, seed=9)
    index = NearDupIndex(CONFIG)
    index.add_many(list(range(len(matrix))), [row.astype("<u4").tobytes() for row in matrix])
    expected = sorted(sorted(i for i, g in enumerate(labels) if g == group) for group in range(5))
    assert sorted(index.clusters()) == expected


def test_leader_edges_of_a_bucket_where_nothing_matches_are_empty() -> None:
    matrix, _ = _grouped_bucket(groups=70, per_group=1, seed=4)
    left, right, count = dedup.index._leader_edges(
        matrix, np.arange(len(matrix)), CONFIG.min_matches
    )
    assert (len(left), len(right), len(count)) == (0, 0, 0)


# --- small contracts --------------------------------------------------------------------------


def test_one_slot_signatures_are_compared() -> None:
    one = (7).to_bytes(4, "little")
    assert estimate_jaccard(one, one) == 1.0


@pytest.mark.parametrize("side", [0, 1])
def test_an_empty_signature_is_similar_to_nothing(side: int) -> None:
    empty, full = _sig(""), _sig(FERRY)
    pair = (empty, full) if side == 0 else (full, empty)
    assert estimate_jaccard(*pair) == 0.0


def test_a_signature_that_is_not_whole_slots_is_refused_with_its_size() -> None:
    with pytest.raises(ValueError, match="whole number of uint32 slots, got 5 bytes"):
        estimate_jaccard(b"\x00" * 5, b"\x00" * 5)


def test_exact_jaccard_of_a_text_shorter_than_a_shingle() -> None:
    assert exact_jaccard("harbour ferry", "harbour ferry") == 1.0
    assert exact_jaccard("harbour ferry", "island ferry") == 0.0


def test_add_many_refuses_keys_and_signatures_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="2 keys but 1 signatures"):
        NearDupIndex(CONFIG).add_many([1, 2], [_sig(FERRY)])


@pytest.mark.parametrize("pair", [(1, 99), (99, 1), (0, 1), (1, 3)])
def test_similarity_of_a_key_never_added_is_a_key_error(pair: tuple[int, int]) -> None:
    index = NearDupIndex(CONFIG)
    index.add_many([1, 2, 3], [_sig(FERRY), _sig(ORCHARD), _sig(LIBRARY)])
    if pair == (1, 3):
        assert index.similarity(*pair) == estimate_jaccard(_sig(FERRY), _sig(LIBRARY))
        return
    with pytest.raises(KeyError, match="must both have been added"):
        index.similarity(*pair)


def test_a_short_text_in_a_batch_is_one_shingle_of_its_own_tokens() -> None:
    # Texts of 1..7 tokens (shingles are 5 tokens) side by side in one batch: a text shorter
    # than a shingle is one whole-text shingle, never reaching into the next text, and each
    # text's shingles are exactly its windows.
    texts = [" ".join(f"w{n}x{i}" for i in range(n)) for n in range(1, 8)]
    toks = TokenBatch.from_texts(texts)
    hashes, offsets = dedup.minhash._shingle_hashes(toks.hashes, toks.counts, CONFIG.shingle_size)
    got = [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))]
    for text, shingles in zip(texts, got, strict=True):
        alone = TokenBatch.from_texts([text])
        solo, _ = dedup.minhash._shingle_hashes(alone.hashes, alone.counts, CONFIG.shingle_size)
        n = len(text.split())
        assert shingles == solo.tolist()
        assert len(shingles) == max(n - CONFIG.shingle_size + 1, 1)
    assert signatures(texts, CONFIG) == [_sig(t) for t in texts]


def test_an_empty_signature_is_similar_to_nothing_even_where_slots_agree() -> None:
    empty = _sig("")
    half = empty[: len(empty) // 2] + bytes(range(len(empty) // 2))
    assert estimate_jaccard(empty, half) == estimate_jaccard(half, empty) == 0.0
    assert estimate_jaccard(half, half) == 1.0


def test_the_index_counts_the_keys_added() -> None:
    index = NearDupIndex(CONFIG)
    assert len(index) == 0
    index.add_many([5, 7, 9], [_sig(FERRY), _sig(ORCHARD), _sig(LIBRARY)])
    assert len(index) == 3
    index.clusters()  # merging the pending keys changes nothing
    index.add(11, _sig(""))
    assert len(index) == 4
