"""A bilingual term table learnt from parallel passages, for BM25 query expansion.

The corpus links some chunks that are versions of one passage in two languages
(`Chunk.parallel_id`, see corpus/parallel.py): roadmap-es sections with roadmap-en,
the French reading list's paper summaries with llm-paper-notes-en. Terms that keep
appearing together on the two sides of those pairs are taken as translations
(Dice coefficient over pairs), and a query's terms are expanded with them before the
BM25 search, so "échelle" can find "scaling". Pure functions over plain data; the
retriever learns the table from the loaded chunks, so it always matches the build.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from corpus.records import Chunk
from corpus.text import tokenize

TermTable = dict[str, tuple[str, ...]]


def parallel_token_pairs(chunks: Iterable[Chunk]) -> list[tuple[list[str], list[str]]]:
    """Token lists of every two chunks of one `parallel_id` in different languages.

    >>> from corpus.records import Chunk
    >>> def c(i, lang, text, pid):
    ...     return Chunk(id=i, source=i, text=text, section=(), start=0, end=1,
    ...                  language=lang, kind="x", n_tokens=1, parallel_id=pid)
    >>> parallel_token_pairs([c("a", "en", "scaling laws", "p"), c("b", "fr", "lois d'échelle", "p"),
    ...                       c("x", "en", "alone", None)])
    [(['scaling', 'law'], ['lois', 'échelle'])]
    """
    groups: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        if chunk.parallel_id:
            groups[chunk.parallel_id].append(chunk)
    pairs = []
    for pid in sorted(groups):
        members = groups[pid]
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a.language != b.language:
                    pairs.append((tokenize(a.text), tokenize(b.text)))
    return pairs


def learn_term_table(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
    min_pairs: int = 2,
    min_dice: float = 0.6,
    max_translations: int = 2,
    max_share: float = 0.5,
) -> TermTable:
    """Translations of each term, both ways, from token lists of parallel passages.

    A term `a` of one side and `b` of the other are translations when they occur
    together in at least `min_pairs` pairs and their Dice coefficient over pairs,
    2 * n(a, b) / (n(a) + n(b)), is at least `min_dice`; each term keeps its
    `max_translations` best, best first. A term spelt the same on both sides needs no
    translation and gets none (it would also make noise: "lora" next to "lora"). A term
    in more than `max_share` of its side's passages is boilerplate ("all you need" in
    every English paper note) and gets none either.

    >>> pairs = [(["scaling", "law", "model"], ["loi", "échelle", "model"]),
    ...          (["scaling", "compute"], ["échelle", "calcul"]),
    ...          (["compute", "budget"], ["calcul", "budget"]),
    ...          (["data"], ["données"])]
    >>> learn_term_table(pairs)
    {'calcul': ('compute',), 'compute': ('calcul',), 'scaling': ('échelle',), 'échelle': ('scaling',)}
    """
    n_left: Counter[str] = Counter()
    n_right: Counter[str] = Counter()
    together: Counter[tuple[str, str]] = Counter()
    for left, right in pairs:
        a_set, b_set = set(left), set(right)
        n_left.update(a_set)
        n_right.update(b_set)
        together.update((a, b) for a in a_set for b in b_set if a != b)
    candidates: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (a, b), n_ab in together.items():
        if n_ab < min_pairs or a in n_right or b in n_left:
            continue  # rare, or a word both sides use (a name, a number)
        if n_left[a] > max_share * len(pairs) or n_right[b] > max_share * len(pairs):
            continue
        dice = 2 * n_ab / (n_left[a] + n_right[b])
        if dice >= min_dice:
            candidates[a].append((dice, b))
            candidates[b].append((dice, a))
    return {
        term: tuple(t for _, t in sorted(found, key=lambda x: (-x[0], x[1]))[:max_translations])
        for term, found in sorted(candidates.items())
    }


def expand_tokens(tokens: Sequence[str], table: Mapping[str, Sequence[str]]) -> list[str]:
    """The translations of `tokens` that are not query tokens already, in query order.

    >>> expand_tokens(["scaling", "loi", "model"], {"scaling": ("échelle",), "loi": ("law",)})
    ['échelle', 'law']
    """
    have = set(tokens)
    out: list[str] = []
    for tok in tokens:
        for t in table.get(tok, ()):
            if t not in have:
                have.add(t)
                out.append(t)
    return out
