"""Tests for the heuristic filter stages (gopher_quality, gopher_repetition,
fineweb_quality, c4_quality, ngram_coverage, dirty_words, kl_divergence).

Stages are called as the runner calls them: ``stage.process(pa.table(...))``.
Parity tests run datatrove's own filters on the same texts and expect the same
keep/drop decision and reason.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)

from pipeline.stage import Drop, StageResult, registry
from pipeline.stages.ngram_coverage import coverage

STAGES = registry()
LDNOOBW = Path(__file__).resolve().parents[1].parent / "shared" / "lists" / "ldnoobw"


def run(stage, texts, langs="en"):
    langs = [langs] * len(texts) if isinstance(langs, str) or langs is None else langs
    batch = pa.table({"text": texts, "lang": langs, "url": [f"https://example.com/{i}" for i in range(len(texts))]})
    res = stage.process(batch)
    assert isinstance(res, StageResult)
    assert len(res.drops) == len(texts)
    for col, values in res.columns.items():
        assert col in stage.columns and len(values) == len(texts)
    return res


def one(stage, text, lang="en"):
    """(scores, drop) of a single document."""
    res = run(stage, [text], lang)
    return {k: v[0] for k, v in res.columns.items()}, res.drops[0]


def reason(drop: Drop | None) -> str | None:
    return drop.reason if drop else None


def dt_reason(flt, text: str) -> str | None:
    out = flt.filter(Document(text=text, id="x"))
    return None if out is True else out[1]


# --------------------------------------------------------------------------- texts

NEWS = """City council approves new bike lanes for downtown corridor

The city council voted 7 to 2 on Tuesday evening to approve a plan that will add protected bike lanes along the main downtown corridor, a project that supporters say has been discussed for more than a decade.

The plan, which is expected to cost about $4.2 million, will remove roughly 60 parking spaces and narrow two traffic lanes between Fifth Street and the river. Construction is scheduled to begin next spring and should be finished before the end of the year.

"This is about making the street safe for everyone who uses it, whether they drive, walk or ride," said council member Ana Torres, who sponsored the proposal. Several local business owners spoke against the plan during the public comment period, arguing that the loss of parking would hurt their sales.

A study commissioned by the city last year found that the number of people cycling to work had doubled since 2015, while the number of crashes involving cyclists had also risen. Officials said they would monitor traffic and parking once the lanes are open and report back to the council within twelve months."""

RECIPE = """Easy Banana Bread

This banana bread is moist, simple and a great way to use up bananas that have gone a little too brown. It keeps well for several days if you wrap it tightly.

Ingredients
- 3 ripe bananas, mashed
- 1/3 cup melted butter
- 1 teaspoon baking soda
- A pinch of salt
- 3/4 cup sugar
- 1 large egg, beaten
- 1 teaspoon vanilla extract
- 1 1/2 cups flour

Instructions
Preheat the oven to 350 degrees and butter a loaf pan. In a mixing bowl, mash the bananas with a fork until they are completely smooth. Stir the melted butter into the mashed bananas, then mix in the baking soda and salt. Stir in the sugar, the beaten egg and the vanilla extract. Finally, mix in the flour until it is just combined. Pour the batter into the prepared pan and bake for about an hour, until a tester inserted into the center comes out clean."""

FORUM = """Re: Laptop won't boot after update

I had the same problem last week. What worked for me was holding the power button for about thirty seconds with the charger unplugged, then plugging it back in and starting it normally. It took a couple of tries but after that it booted without any problems.

If that doesn't work you might want to try booting into safe mode and rolling back the update from there. Good luck, and let us know how it goes!"""

SHOP = """Home
Shop
Men
Women
Kids
Sale
Cart (0)
Classic Cotton T-Shirt
$19.99
Size
S
M
L
XL
Add to cart
Free shipping on orders over $50
Reviews (12)
Share
Contact us
Privacy"""

HASHTAGS = """Best day ever at the beach with my crew #summer #beach #sun #fun #friends #travel #vacation #happy #love #instagood #photooftheday #nofilter #sunset #ocean #waves #life #goodvibes #weekend #blessed #wanderlust and we stayed until the sun went down over the water while the kids built a huge sandcastle near the dunes"""

TEASERS = """Ten things you never knew about your cat...
Why this small town is suddenly famous...
The one trick doctors do not want you to know...
She opened the box and could not believe what she saw...
Scientists finally explain the mystery of the ancient stones...
You will not believe what happened next at the wedding...
This simple habit could add years to your life...
The real reason airlines board planes the way they do...
What your handwriting says about your personality...
How one family turned an old bus into a dream home..."""

CODE = """def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

x = [fib(i) for i in range(10)]
print(x)  # [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
y = {k: v ** 2 for k, v in zip(range(5), x)}
assert y[4] == 9, (y, x)
z = (1 + 2) * 3 / 4 - 5 % 6 // 7
print(z, y, x[::-1], x[1:3], x[-1])"""

BOILERPLATE = """We use cookies to improve your experience on our site.
Our summer sale starts today with discounts on all outdoor furniture and garden tools.
We use cookies to improve your experience on our site.
Visit our showroom to see the new collection of patio sets, umbrellas and lights.
We use cookies to improve your experience on our site.
Sign up for our newsletter and get ten percent off your first order with us.
We use cookies to improve your experience on our site."""

SPAM = " ".join(["cheap flights to paris book cheap flights to paris today"] * 12) + (
    " find the best deals on cheap flights to paris and compare prices from all major airlines before you book."
)

WIKI = """The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.[1] It is named after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.[2]

Locally nicknamed "La dame de fer" (French for "Iron Lady"), it was constructed as the centrepiece of the 1889 World's Fair, and to crown the centennial anniversary of the French Revolution. Although initially criticised by some of France's leading artists and intellectuals for its design, it has since become a global cultural icon of France and one of the most recognisable structures in the world.[3] The tower received 5,889,000 visitors in 2022. It is the most visited monument with an entrance fee in the world.[citation needed]

The tower is 330 metres tall, about the same height as an 81-storey building, and the tallest structure in Paris. Its base is square, measuring 125 metres on each side. During its construction, the Eiffel Tower surpassed the Washington Monument to become the tallest human-made structure in the world, a title it held for 41 years."""

URLS = " ".join(
    f"https://www.example-domain-number{i}.com/category/subcategory/article-title-{i}-with-many-words" for i in range(60)
)

POEM = """The fog comes
on little cat feet.
It sits looking
over harbor and city
on silent haunches
and then moves on.
The rain falls soft
upon the silent hill,
and all the town
is sleeping still."""

BULLETS = "\n".join(
    f"• {item} is available in three sizes and ships within two days"
    for item in ["The blue jacket", "The green scarf", "The leather belt", "The wool hat", "The cotton shirt", "The rain boots"]
)

STANDINGS = """Team W L PCT GB
Yankees 98 64 .605 -
Orioles 91 71 .562 7
Red Sox 81 81 .500 17
Rays 80 82 .494 18
Blue Jays 74 88 .457 24
Guardians 92 69 .571 -
Royals 86 76 .531 6.5
Tigers 86 76 .531 6.5
Twins 82 80 .506 10.5
White Sox 41 121 .253 51.5"""

HESITANT = "Well... I mean... it was... you know... not great... but... fine... I guess... maybe... " * 8 + "We left."

LONGDUP = "\n".join(
    ["Short note one.", "Short note two.", "Short note three.", "Short note four.", "Short note five."]
    + ["Subscribe to our newsletter to receive weekly updates on new products, exclusive offers and upcoming events in your area."] * 3
    + ["Short note six.", "Short note seven."]
)

REALISTIC = [NEWS, RECIPE, FORUM, SHOP, HASHTAGS, TEASERS, CODE, BOILERPLATE, SPAM, WIKI, URLS, POEM,
             BULLETS, STANDINGS, HESITANT, LONGDUP]
EDGE = [
    "",
    " ",
    "\n\n\n",
    "word",
    "!!! ??? ... ---",
    " ".join(str(i) for i in range(80)),
    "no punctuation at all " * 30,
    "Line one.\n\n\nLine one.\n\n\nLine one.",
    "\u00a0".join(["mixed whitespace"] * 40) + ".",
]

GERMAN = """Die Stadt hat am Dienstag beschlossen, im kommenden Jahr neue Radwege in der Innenstadt zu bauen. Das Projekt wird seit mehr als zehn Jahren diskutiert und soll nach Angaben der Verwaltung rund vier Millionen Euro kosten. Geplant ist, dass die Bauarbeiten im Frühjahr beginnen und bis zum Ende des Jahres abgeschlossen werden. Einige Geschäftsleute kritisieren, dass dabei zahlreiche Parkplätze wegfallen. Die Bürgermeisterin sagte, es gehe vor allem um die Sicherheit von Kindern und älteren Menschen, die mit dem Fahrrad unterwegs sind. Eine Studie hatte gezeigt, dass sich die Zahl der Radfahrer seit 2015 verdoppelt hat."""


# --------------------------------------------------------------------------- registry


def test_stages_registered():
    for name in ["gopher_quality", "gopher_repetition", "fineweb_quality", "c4_quality",
                 "ngram_coverage", "dirty_words", "kl_divergence"]:
        assert name in STAGES
    assert STAGES["kl_divergence"].fits is True
    import pipeline.stages._words  # noqa: F401  (a helper module registers nothing)
    assert not any(cls.__module__.endswith("._words") for cls in STAGES.values())


# --------------------------------------------------------------------------- gopher_quality


def test_gopher_quality_known_metrics():
    text = "- one two three\n- four five six...\nseven eight # nine"
    # spaCy: - one two three - four five six ... seven eight # nine  -> 13 tokens, 9 words
    s, drop = one(STAGES["gopher_quality"](min_doc_words=None), text)
    assert s["gopher_words"] == 9
    assert s["gopher_avg_word_len"] == pytest.approx(36 / 9)
    assert s["gopher_hash_ratio"] == pytest.approx(1 / 13)
    assert s["gopher_ellipsis_ratio"] == pytest.approx(1 / 13)
    assert s["gopher_bullet_lines_ratio"] == pytest.approx(2 / 3)
    assert s["gopher_ellipsis_lines_ratio"] == pytest.approx(1 / 3)
    assert s["gopher_alpha_words_ratio"] == pytest.approx(9 / 13)
    assert s["gopher_stop_words"] == 0
    assert drop == Drop("gopher_too_many_end_ellipsis", pytest.approx(1 / 3))


def test_gopher_quality_keeps_news_and_counts_stop_words():
    s, drop = one(STAGES["gopher_quality"](), NEWS)
    assert drop is None
    assert s["gopher_stop_words"] == 6  # the, be, to, of, and, that (no "have", "with")
    assert s["gopher_words"] > 150


def test_gopher_quality_german_uses_german_stop_words():
    stage = STAGES["gopher_quality"]()
    s, drop = one(stage, GERMAN, "de")
    assert drop is None
    assert s["gopher_stop_words"] >= 5
    # as datatrove ships it (English stop words), the same page is dropped
    assert dt_reason(GopherQualityFilter(language="de"), GERMAN) == "gopher_enough_stop_words"
    # ... and so would ours with the English list forced on German
    forced = STAGES["gopher_quality"](per_language={"de": {"stop_words": ["the", "be", "to", "of", "and", "that", "have", "with"]}})
    assert reason(one(forced, GERMAN, "de")[1]) == "gopher_enough_stop_words"


def test_gopher_quality_skips_stop_words_without_list():
    # Turkish has no list: the stop-word rule is skipped, the score is null
    text = " ".join(["Belediye meclisi şehir merkezinde gelecek yıl yeni bisiklet yolları yapılmasına karar verdi."] * 5)
    s, drop = one(STAGES["gopher_quality"](), text, "tr")
    assert s["gopher_stop_words"] is None
    assert drop is None


def test_gopher_quality_per_language_override():
    stage = STAGES["gopher_quality"](per_language={"en": {"min_doc_words": 500}})
    assert reason(one(stage, NEWS, "en")[1]) == "gopher_short_doc"
    assert one(stage, GERMAN, "de")[1] is None  # German keeps its shipped stop words and default thresholds
    with pytest.raises(ValueError):
        STAGES["gopher_quality"](per_language={"de": {"no_such_param": 1}})


# --------------------------------------------------------------------------- gopher_repetition


def test_gopher_repetition_known_metrics():
    text = "a b c\na b c\nd e f"  # 17 chars, words a b c a b c d e f
    s, drop = one(STAGES["gopher_repetition"](), text)
    assert s["gopher_dup_para_frac"] == 0
    assert s["gopher_dup_line_frac"] == pytest.approx(1 / 3)
    assert s["gopher_dup_line_char_frac"] == pytest.approx(5 / 17)
    assert s["gopher_top_2_gram_frac"] == pytest.approx(2 * 3 / 17)  # "a b" twice
    assert s["gopher_top_3_gram_frac"] == pytest.approx(2 * 5 / 17)  # "a b c" twice
    assert s["gopher_dup_5_gram_frac"] == 0
    assert drop.reason == "dup_line_frac"


def test_gopher_repetition_dup_ngrams():
    words = [f"w{i}" for i in range(40)]
    text = " ".join(words[:20] + words[:10] + words[20:])  # a 10-word span repeated once
    s, drop = one(STAGES["gopher_repetition"](), text)
    assert len(text) == 179
    # 5-grams: the second copy is two repeated 5-grams (w0..w4, w5..w9): 20 chars
    assert s["gopher_dup_5_gram_frac"] == pytest.approx(20 / 179)
    # 9-grams: w0..w8 repeats (18 chars), then the walk jumps past w8 and w9..w20 is new
    assert s["gopher_dup_9_gram_frac"] == pytest.approx(18 / 179)
    assert s["gopher_dup_10_gram_frac"] == pytest.approx(20 / 179)
    # 0.112 is under the 5..8-gram limits (0.15..0.12), 0.1006 under 0.11, 0.112 over 0.10
    assert drop == Drop("duplicated_10_n_grams", pytest.approx(20 / 179))
    assert dt_reason(GopherRepetitionFilter(), text) == "duplicated_10_n_grams"


# --------------------------------------------------------------------------- fineweb_quality


def test_fineweb_quality_known_metrics():
    text = "This line ends with a full stop.\nshort\nAnother proper sentence that is long enough!\nshort\n\n"
    s, drop = one(STAGES["fineweb_quality"](), text)
    assert s["fineweb_line_punct_ratio"] == pytest.approx(2 / 4)
    assert s["fineweb_short_line_ratio"] == pytest.approx(2 / 4)
    assert s["fineweb_char_dup_ratio"] == pytest.approx(5 / len(text.replace("\n", "")))
    assert drop.reason == "char_dup_ratio"
    # 5 newlines / 18 tokens (7 + "." + 1 + 7 + "!" + 1)
    assert s["fineweb_list_ratio"] == pytest.approx(5 / 18)
    assert one(STAGES["fineweb_quality"](char_duplicates_ratio=None), text)[1] is None
    drop = one(STAGES["fineweb_quality"](char_duplicates_ratio=None, new_line_ratio=0.25), text)[1]
    assert drop == Drop("list_ratio", pytest.approx(5 / 18))


# --------------------------------------------------------------------------- parity with datatrove


@pytest.fixture
def spacy_words():
    """Exact parity with datatrove holds for word_tokenizer=spacy (datatrove's own tokenizer)."""
    from pipeline.stages import _words

    _words.configure("spacy")
    yield
    _words.configure("fast")


@pytest.mark.parametrize("text", REALISTIC + EDGE, ids=lambda t: repr(t[:20]))
def test_parity_with_datatrove(text, spacy_words):
    pairs = [
        (STAGES["gopher_quality"](), GopherQualityFilter()),
        (STAGES["gopher_repetition"](), GopherRepetitionFilter()),  # numpy path (the default)
        (STAGES["gopher_repetition"](fast_above_words=None), GopherRepetitionFilter()),  # datatrove's functions
        (STAGES["fineweb_quality"](), FineWebQualityFilter()),
    ]
    for ours, theirs in pairs:
        assert reason(one(ours, text)[1]) == dt_reason(theirs, text), (ours.name, ours.params)


def test_parity_covers_many_reasons(spacy_words):
    """The parity texts must exercise keeps and several distinct drop reasons of each filter."""
    for name in ["gopher_quality", "gopher_repetition", "fineweb_quality"]:
        reasons = {reason(d) for d in run(STAGES[name](), REALISTIC + EDGE).drops}
        assert None in reasons and len(reasons) >= 4, (name, reasons)


@pytest.mark.parametrize("tokenizer", ["fast", "spacy"])
def test_repetition_fast_path_metrics_equal(tokenizer):
    from pipeline.stages import _words

    _words.configure(tokenizer)
    slow, fast = STAGES["gopher_repetition"](fast_above_words=None), STAGES["gopher_repetition"]()
    a, b = run(slow, REALISTIC + EDGE), run(fast, REALISTIC + EDGE)
    _words.configure("fast")
    assert a.columns == b.columns


def test_fast_tokenizer_keeps_spacy_tokens_whole():
    from pipeline.stages._words import regex_words

    assert regex_words('Bake at 350°F for 1/2 hour... (U.S. style) — don\'t!') == [
        "Bake", "at", "350°F", "for", "1/2", "hour", "...", "(", "U.S", ".", "style", ")", "—", "don't", "!"]
    assert regex_words("東京タワー") == ["東", "京", "タ", "ワ", "ー"]


# --------------------------------------------------------------------------- c4_quality


@pytest.mark.parametrize("text", REALISTIC + EDGE, ids=lambda t: repr(t[:20]))
def test_c4_parity_with_datatrove(text, spacy_words):
    s, drop = one(STAGES["c4_quality"](), text)
    doc = Document(text=text, id="x")
    out = C4QualityFilter(filter_no_terminal_punct=False).filter(doc)
    assert reason(drop) == (None if out is True else out[1])
    if out is True:
        assert s["text"] == doc.text


def test_c4_quality_lines_and_text_column():
    text = (
        "Please enable JavaScript to view this page properly.\n"
        "Menu\n"
        "The first sentence is here. The second one follows it.\n"
        "A third sentence is on its own line.\n"
        "The fourth sentence comes now. And a fifth to finish.\n"
        "Read our privacy policy and terms of use before you go."
    )
    stage = STAGES["c4_quality"]()
    res = run(stage, [text, text, "Lorem ipsum dolor sit amet, consectetur adipiscing elit."], ["en", "en", "en"])
    assert res.drops[0] is None
    assert res.columns["text"][0] == (
        "The first sentence is here. The second one follows it.\n"
        "A third sentence is on its own line.\n"
        "The fourth sentence comes now. And a fifth to finish."
    )
    assert res.columns["c4_kept_lines_ratio"][0] == pytest.approx(3 / 6)
    assert res.drops[2].reason == "lorem_ipsum" and res.columns["c4_kept_lines_ratio"][2] is None
    # the C4 setting drops lines without terminal punctuation
    strict = STAGES["c4_quality"](filter_no_terminal_punct=True, min_num_sentences=1)
    assert one(strict, "A heading without a stop\nA sentence with one.")[0]["text"] == "A sentence with one."
    # docs outside `languages` keep their text
    only_de = STAGES["c4_quality"](languages=["de"])
    res = run(only_de, [text], "en")
    assert res.columns["text"] == [text] and res.drops == [None] and res.columns["c4_kept_lines_ratio"] == [None]
    with pytest.raises(ValueError):
        STAGES["c4_quality"](bogus=1)


def test_c4_quality_unknown_language():
    text = "Ceci est une phrase. Encore une autre ici. Et une troisième. Puis une quatrième. Enfin la cinquième."
    for lang in ["zz", "ja", None]:
        s, drop = one(STAGES["c4_quality"](), text, lang)
        assert drop is None and s["text"] == text


# --------------------------------------------------------------------------- ngram_coverage


def test_ngram_coverage_known_span():
    words = [f"u{i:02d}" for i in range(30)]  # 3 chars each
    span = ["aa", "bbb", "cc", "dd", "ee", "ff"]  # 6 words, 13 chars, repeated twice
    doc = words[:10] + span + words[10:20] + span + words[20:]
    total = 30 * 3 + 2 * 13
    # every repeated n-gram (n <= 6) lies inside the two copies of the span; none for n > 6
    expected = {n: (2 * 13 / total if n <= 6 else 0.0) for n in range(5, 11)}
    assert coverage(doc, [5]) == pytest.approx(expected[5])
    assert coverage(doc, [7]) == 0.0
    assert coverage(doc, list(range(5, 11))) == pytest.approx(sum(expected.values()) / 6)
    s, drop = one(STAGES["ngram_coverage"](), " ".join(doc))
    assert s["dup_ngram_coverage"] == pytest.approx(sum(expected.values()) / 6)
    assert drop is None
    s, drop = one(STAGES["ngram_coverage"](ns=[5]), " ".join(doc))
    assert s["dup_ngram_coverage"] == pytest.approx(26 / 116)
    assert drop is None


def test_ngram_coverage_drops_repeated_content():
    stage = STAGES["ngram_coverage"]()
    s, drop = one(stage, NEWS + "\n\n" + NEWS)
    assert s["dup_ngram_coverage"] == pytest.approx(1.0)
    assert drop == Drop("dup_ngram_coverage", pytest.approx(1.0))
    s, drop = one(stage, NEWS)
    assert s["dup_ngram_coverage"] < 0.05 and drop is None
    # punctuation is not a word: the same words with different punctuation still repeat
    five = STAGES["ngram_coverage"](ns=[5])
    assert one(five, "one two three four five. " * 2)[0]["dup_ngram_coverage"] == pytest.approx(1.0)
    # with the default ns only n=5 repeats here (10 words): mean of (1, 0, 0, 0, 0, 0)
    assert one(stage, "one two three four five. " * 2)[0]["dup_ngram_coverage"] == pytest.approx(1 / 6)


def test_ngram_coverage_overlapping_repeats():
    # a cycle: every n-gram (n < 10) of "a b c ... a b c" occurs more than once
    text = " ".join(["alpha", "beta", "gamma"] * 10)
    assert one(STAGES["ngram_coverage"](), text)[0]["dup_ngram_coverage"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- dirty_words


@pytest.fixture
def lists_dir(tmp_path):
    if not LDNOOBW.is_dir():
        pytest.skip(f"{LDNOOBW} not available")
    d = tmp_path / "ldnoobw"
    d.mkdir()
    for lang in ["en", "ja", "de"]:
        shutil.copy(LDNOOBW / lang, d / lang)
    return d


def test_dirty_words_counts(lists_dir):
    stage = STAGES["dirty_words"](lists_dir=str(lists_dir))
    stage.setup()
    text = "What a BASTARD. That bitch of a class was assigned, my ass! Then a blow\njob joke. " + " ".join(["fine"] * 80)
    s, drop = one(stage, text)
    # bastard, bitch, ass, "blow job" (across a newline); not class / assigned
    assert s["dirty_words"] == 4
    n_words = 3 + 7 + 2 + 5 + 80  # words with a non-punctuation character
    assert s["dirty_word_ratio"] == pytest.approx(4 / n_words)
    assert drop == Drop("dirty_word_ratio", pytest.approx(4 / n_words))
    # a single swear word in a short text is kept (fewer than min_dirty_words)
    s, drop = one(stage, "Oh shit, I missed the bus again.")
    assert s["dirty_words"] == 1 and drop is None
    # long text: the ratio stays low but the count cap drops it
    s, drop = one(stage, ("fuck " + "word " * 200) * 31)
    assert s["dirty_words"] == 31 and s["dirty_word_ratio"] < 0.01
    assert drop == Drop("dirty_words_count", 31)
    # clean text and languages without a list
    assert one(stage, NEWS) == ({"dirty_words": 0, "dirty_word_ratio": 0.0}, None)
    assert one(stage, "merde " * 10, "fr") == ({"dirty_words": None, "dirty_word_ratio": None}, None)
    assert one(stage, "shit " * 10, None) == ({"dirty_words": None, "dirty_word_ratio": None}, None)


def test_dirty_words_no_space_language(lists_dir):
    stage = STAGES["dirty_words"](lists_dir=str(lists_dir))
    stage.setup()
    s, _ = one(stage, "これはアナルのテストです。アナル。", "ja")
    assert s["dirty_words"] == 2  # substring matches, no word boundaries
    s, _ = one(stage, "女の子が公園で遊んでいます。", "ja")
    assert s["dirty_words"] == 0  # allowlisted (datatrove's C4 allowlist)


def test_dirty_words_per_language_threshold(lists_dir):
    stage = STAGES["dirty_words"](lists_dir=str(lists_dir), per_language={"de": {"max_dirty_words": 1}})
    stage.setup()
    assert reason(one(stage, "Scheiße, so eine Scheiße. " + "Wort " * 500, "de")[1]) == "dirty_words_count"


def test_dirty_words_missing_dir(tmp_path):
    missing = tmp_path / "nope"
    stage = STAGES["dirty_words"](lists_dir=str(missing))
    with pytest.raises(FileNotFoundError, match="make lists") as e:
        stage.setup()
    assert str(missing) in str(e.value)


# --------------------------------------------------------------------------- kl_divergence


def _corpus(n_docs=40, seed=0):
    """Docs made of sentences of the realistic English texts, in varying combinations."""
    import re

    sents = [s for t in [NEWS, RECIPE, FORUM, WIKI] for s in re.split(r"(?<=[.!?])\s+", t) if len(s.split()) > 4]
    rng = random.Random(seed)
    return [" ".join(rng.sample(sents, 8)) for _ in range(n_docs)]


def _fitted(**params):
    stage = STAGES["kl_divergence"](**params)
    docs = _corpus()
    sample = pa.table({"text": docs + ["Ein kurzer deutscher Text."] * 3, "lang": ["en"] * len(docs) + ["de"] * 3,
                       "url": ["u"] * (len(docs) + 3)})
    state = stage.fit(sample)
    return stage, state


def test_kl_fit_state():
    stage, state = _fitted()
    assert json.loads(json.dumps(state)) == state  # JSON-serializable
    assert _fitted()[1] == state  # deterministic
    en = state["languages"]["en"]
    assert en["n_docs"] == 40 and en["total"] == sum(en["vocab"].values()) + en["oov_count"]
    q = en["quantiles"]
    assert {"0.5", "0.9", "0.99", "0.995", "0.999"} <= set(q) and q["0.5"] <= q["0.9"] <= q["0.99"] <= q["0.999"]
    assert "de" not in state["languages"] and state["skipped"] == {"de": 3}  # < min_reference_docs
    small = _fitted(vocab_size=10)[1]["languages"]["en"]
    assert len(small["vocab"]) == 10 and small["oov_count"] > 0 and small["oov_types"] > 0


def test_kl_spam_scores_far_higher():
    stage, state = _fitted()
    stage.load_fitted(json.loads(json.dumps(state)))
    stage.setup()
    normal = " ".join(_corpus(n_docs=1, seed=123))
    spam = " ".join(["zorblax", "quuxify", "zorblax", "megadeal"] * 40)
    res = run(stage, [normal, spam, GERMAN, "too short"], ["en", "en", "de", "en"])
    kl_normal, kl_spam, kl_de, kl_short = res.columns["kl_divergence"]
    assert kl_spam > kl_normal + 5 and kl_spam > 3 * kl_normal
    assert res.drops[0] is None
    assert res.drops[1] == Drop("kl_divergence", pytest.approx(kl_spam))
    assert kl_de is None and res.drops[2] is None  # no German reference
    assert kl_short is None and res.drops[3] is None  # fewer than min_tokens
    # the default threshold is the fitted p99.5
    assert state["languages"]["en"]["quantiles"]["0.995"] < kl_spam
    # an absolute threshold overrides the quantile
    loose = STAGES["kl_divergence"](max_kl=1000.0)
    loose.load_fitted(state)
    assert run(loose, [spam]).drops == [None]


def test_kl_requires_fit():
    stage = STAGES["kl_divergence"]()
    stage.setup()  # the runner sets up all stages before fitting, to sample the docs reaching this one
    with pytest.raises(RuntimeError, match="fit"):
        run(stage, [NEWS])
    stage.load_fitted({"version": 1, "languages": {}, "skipped": {}})  # an empty sample: everything passes
    assert run(stage, [NEWS]).drops == [None]
    empty = STAGES["kl_divergence"]().fit(pa.table({"text": [], "lang": [], "url": []}))
    assert empty == {"version": 1, "languages": {}, "skipped": {}}


# --------------------------------------------------------------------------- robustness


def _all_stages(lists_dir):
    stages = [STAGES[n]() for n in ["gopher_quality", "gopher_repetition", "fineweb_quality", "c4_quality", "ngram_coverage"]]
    stages.append(STAGES["dirty_words"](lists_dir=str(lists_dir)))
    kl, state = _fitted()
    kl.load_fitted(state)
    stages.append(kl)
    for st in stages:
        st.setup()
    return stages


def test_edge_texts_do_not_crash(lists_dir):
    texts = ["", "word", None, " ", "\n", "東京", "!!!", "ภาษาไทย", NEWS]
    langs = ["en", "en", "en", "de", "xx", "ja", None, "th", "zz"]
    for st in _all_stages(lists_dir):
        res = run(st, texts, langs)
        assert res.drops[-1] is None or st.name in ("c4_quality",), st.name


def test_million_word_text_is_fast(lists_dir):
    rng = random.Random(0)
    vocab = NEWS.split() + WIKI.split()
    lines = [" ".join(rng.choice(vocab) for _ in range(20)) + "." for _ in range(50_000)]
    text = "\n".join(lines)
    assert len(text.split()) == 1_000_000
    for st in _all_stages(lists_dir):
        t0 = time.perf_counter()
        res = run(st, [text])
        took = time.perf_counter() - t0
        assert took < 10, (st.name, took)
        print(f"{st.name}: {took:.2f}s drop={res.drops[0]}")
