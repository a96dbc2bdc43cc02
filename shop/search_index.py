"""An in-memory token index for typo-tolerant, layout- and alphabet-blind product search.

How a query is answered:

1. Each query word is folded (`shop.text`) and looked up in the vocabulary of the
   catalog's own words, as typed, as typed on the other keyboard layout and in the
   other alphabet: exactly, as a prefix (autocomplete; any word of two characters
   or more may be cut short: "iph 15 pr", "180 bos"), and — unless it
   matched a common word exactly — within 1 typo (from 4 letters) or 2 (from 8),
   the last word also as a mistyped prefix. Typo search runs rapidfuzz's C edit
   distance over the words of a similar length that share a first or second
   letter, once numpy has set aside those whose letters differ too much. When no
   product holds every word, the words that matched exactly are tried as typos too.
   A prefix stands for its most frequent words only; when the rarest query word's
   products are few, their own words complete the other words' prefixes too.
2. The products holding the rarest query word are scored (those of the next
   rarer words only when too few hold every word). The matching words' posting
   lists mark, in one numpy array over all products, the best match each
   product has for each query word — or, when a word's lists are long beside
   the products scored (a short prefix), each product looks its own words up
   in a forward index. A word only a product's category names hold counts half
   a step less than one in its titles.
3. Products rank by how many query words they match, then by how well (exact >
   prefix > typo), then in stock before out of stock. Among equals — a whole word
   counting here as a start of longer ones ("huawei mate": a Mate, a MatePad) —
   one product for each reading of the query comes first ("hp pr": a ProBook, a
   printer), whole words first, then the readings more products share, and then
   by units sold.

`find` lists products for a shelf or a search, narrowed and sorted (`shop.filters`):

- The results of a query are the products matching every query word, read as
  above; when none does, those matching the most words (the best level
  `suggest` ranks first). With no query they are every product: a shelf.
- Filters work inside the index, on numpy arrays kept a field a product (price,
  stock, category, arrival, the owner's order, attribute value numbers). The
  price, stock and category test the posting lists' products before they are
  scored, so "coffee under 10" scores fewer products than "coffee"; a category
  shelf starts from one comparison over the category array.
- Attribute filters come last: `facets` count each attribute's values among the
  results as every *other* filter leaves them, so a customer who chose a brand is
  still offered the others.
- A page is `offset` and `limit` into the whole ordered result, `total` its
  size. Only the rows that can reach the page are sorted: a partition on the
  first key finds them. Relevance keeps `suggest`'s order; price and date ties
  keep relevance (or the shelf's order), and equal keys the index's order, so
  pages never overlap.

The postings of the catalog as built are one flat numpy array; later changes go to
a small overlay (new postings in lists, replaced products marked dead) until
`compact` folds them in, so a price, stock or title change costs microseconds, and
the next filter sees it.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import IntEnum
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import process
from rapidfuzz.distance import OSA

from shop.filters import Filters, Sort
from shop.text import (
    SENTINEL,
    fold_token,
    may_fold,
    other_layout,
    raw_tokens_of_many,
    retype_raw,
    squeezed_many,
    transliterations,
    words,
)

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
MAX_EXPANSIONS = 64  # tokens a prefix or typo may stand for; the most frequent are kept
# A short prefix stands for fewer words: "s" could be anything, "sams" is Samsung.
EXPANSIONS_BY_LENGTH = {1: 8, 2: 32}
WIDE_EXPANSIONS = 256  # the last word of several: the others narrow its products down
TYPO_PREFIX_LENGTHS = (4, 8)  # a mistyped last word is matched against prefixes this long
BUILD_CHUNK = 200_000
FILTER_POOLS_FROM = 48  # smaller typo pools go to the edit distance unfiltered
# A word's postings beyond this many a product scored: each product looks up its own words.
FORWARD_FROM = 8
SPREAD_ONE_BY_ONE = 8  # a word's marks spread list by list up to this many
FILL_FROM = 20_000  # postings of a word too common to fill a short list with (see `_rank`)
COMPLETE_FROM = 1024  # products of the rarest word beyond which others keep their top words
COMMON_WORD = 8  # products holding a word before it is taken as typed, not as a typo
# Ties are broken among at most this many of the most popular equally good products.
DIVERSIFY_SAMPLE = 2048
_WHICH_BITS = 11  # a product's score for a word keeps in its low bits which match it was
_WHICH_MASK = (1 << _WHICH_BITS) - 1
NO_FILTERS = Filters()
NO_CATEGORY = np.iinfo(np.int64).min
UNORDERED = 2**32 - 1  # a shelf's key for a product the owner gave no place: after every other
LAYOUT_PUNCTUATION = ",.;'[]`<>:\"{}~"


class Match(IntEnum):
    """How a query word matched a catalog word; higher is better."""

    TYPO_PREFIX = 1
    TYPO = 2
    PREFIX = 3
    EXACT = 4


# A mark's value (>> _WHICH_BITS) from this on: a whole word as typed, in a title or category.
WHOLE_WORD = 2 * Match.EXACT + 1


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """What the index knows of a product."""

    product_id: int
    sku: str
    title: str
    titles: dict[str, str] = field(default_factory=dict)  # locale -> title
    categories: tuple[str, ...] = ()  # the category's names in every locale
    in_stock: bool = True
    sold: int = 0
    price: int = 0  # minor units, for a list of results without a trip to the database
    currency: str = ""
    category_id: int | None = None
    attrs: dict[str, str] = field(default_factory=dict)  # attr_<name> -> value, for filters
    sort_order: int | None = None  # the owner's order on a shelf
    created: float = 0.0  # when it came to the shop (POSIX seconds), for "newest first"

    def title_for(self, locale: str | None) -> str:
        """Return the title in `locale`, or the base title."""
        return self.titles.get(locale or "", self.title)


@dataclass(frozen=True, slots=True)
class WordMatch:
    """Which catalog word a query word matched, and how."""

    query_word: str
    matched: str
    how: Match
    variant: str | None = None  # "layout" or "translit" when the word was retyped


@dataclass(frozen=True, slots=True)
class Hit:
    """One product found, with its score and how each query word matched it."""

    product: SearchDoc
    score: float
    matches: tuple[WordMatch, ...]

    @property
    def in_stock(self) -> bool:
        """Tell whether the product can be bought now."""
        return self.product.in_stock


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits, best first, and "did you mean" phrases when nothing matched every word."""

    query: str
    hits: list[Hit]
    did_you_mean: list[str]
    total: int = 0  # products on every page of these results (`find`); `suggest` leaves 0
    # attribute -> (value, products) among the results, most products first, for filter buttons
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Candidate:
    token: int
    how: Match
    variant: str | None


SKU_KEY = 1 << 62  # a ranking key above any other: the product named by its sku
SKU_TIER = (MAX_QUERY_WORDS + 1) << 8  # and its `_Ranking.tier`
# What a product holding a word scores for a query word: (mark, its products, word, whether
# only category names hold it there).
_Mark = tuple[int, NDArray[np.int32], int, bool]


@dataclass(frozen=True, slots=True)
class _Ranking:
    """Products scored against a query's words: parallel arrays, an entry a product."""

    query_words: list[str]
    words_of: list[int]  # the query word each scored word is (words that found nothing aside)
    ordered: list[list[_Candidate]]  # each word's matches, in the order marks name them
    docs: NDArray[np.int32]
    matched: NDArray[np.int8]  # how many words each product matches
    key: NDArray[np.int64]  # higher is better: words matched, how well, in stock, sold
    # The key's first part with a whole word as good as its start ("mate": Mate, MatePad):
    # `_diversified` shows each reading among the products of one tier. A small number
    # (words matched << 8 | value << 1 | in stock), for a count of each.
    tier: NDArray[np.int64]
    reading: NDArray[np.int64]  # which catalog words it matched, for `_diversified`
    found: list[NDArray[np.int16]]  # each word's mark in each product
    sku: int = -1  # the product the query names by its sku, if any

    @classmethod
    def empty(cls, query_words: list[str]) -> _Ranking:
        """Return a ranking of no product."""
        none = np.zeros(0, np.int64)
        return cls(
            query_words, [], [], none.astype(np.int32), none.astype(np.int8), none, none, none, []
        )

    @property
    def level(self) -> int:
        """Return the most words any product matches."""
        return int(self.matched.max()) if len(self.matched) else 0

    def narrowed(self, keep: NDArray[np.bool_]) -> _Ranking:
        """Return the ranking of the products `keep` marks."""
        return replace(
            self,
            docs=self.docs[keep],
            matched=self.matched[keep],
            key=self.key[keep],
            tier=self.tier[keep],
            reading=self.reading[keep],
            found=[marks[keep] for marks in self.found],
        )

    @property
    def only_by_category(self) -> NDArray[np.bool_]:
        """Return which products match some query word only by their category's names."""
        weak = np.zeros(len(self.docs), np.bool_)
        for marks in self.found:
            weak |= (marks >> _WHICH_BITS) % 2 == 1  # a category's word scores odd
        return weak

    def at_best_level(self) -> _Ranking:
        """Return the products that match as many words as any does."""
        return self.narrowed(self.matched == self.level)

    def with_sku(self, sku: int | None) -> _Ranking:
        """Return the ranking with the product named by its sku in it, above every other."""
        if sku is None:
            return self
        where = np.flatnonzero(self.docs == sku)
        key, tier = self.key.copy(), self.tier.copy()
        if len(where):
            key[where], tier[where] = SKU_KEY, SKU_TIER
            return replace(self, key=key, tier=tier, sku=sku)
        return replace(
            self,
            docs=np.append(self.docs, np.int32(sku)),
            matched=np.append(self.matched, np.int8(self.level)),
            key=np.append(key, SKU_KEY),
            tier=np.append(tier, SKU_TIER),
            reading=np.append(self.reading, 0),
            found=[np.append(marks, np.int16(0)) for marks in self.found],
            sku=sku,
        )


@dataclass(frozen=True, slots=True)
class _OwnWords:
    """The words of a set of products as built, gathered once for every query word to read."""

    built: int  # how many of the products (the first) were there at the build
    tokens: NDArray[np.int32]  # their words, product after product
    offsets: NDArray[np.int64]  # where each product with words starts in `tokens`
    held: NDArray[np.bool_]  # which of them have words at all
    categories: NDArray[np.int32]  # each one's category number


@dataclass(frozen=True, slots=True)
class _Reading:
    """One reading of a query (as typed, or retyped on the other layout) and what it found."""

    query_words: list[str]
    candidates: list[list[_Candidate]]
    ranking: _Ranking | None
    hits: list[Hit]  # the best few, as `suggest` shows them


class _Pools:
    """Words (or prefixes) grouped by length and by their first and by their second letter.

    A word within two typos of the query shares its first letter with it, or its
    second letter with the query's first or second (the typo hit the start). Typo
    search therefore compares the query with four small pools instead of every
    word of that length — the vocabulary of a large catalog has a hundred thousand.

    Each typo changes at most two of the letters a word is made of, so a pool is
    first narrowed in numpy by the set of letters (a bit mask a word) before the
    edit distance runs on the few words left: a tenth of a large pool or less.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._first: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
        self._second: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
        first, second = self._first, self._second
        for word in words:  # as `add` does, without a call for each of 300,000 words
            first[len(word), word[0]].append(word)
            second[len(word), word[1]].append(word)
        # The words of each pool as built; those added later are always compared.
        self._first_masks = _masks_by_pool(first)
        self._second_masks = _masks_by_pool(second)
        # The large pools as arrays too: the words a mask lets through are taken in C.
        self._first_words = _large_pools(first)
        self._second_words = _large_pools(second)

    def add(self, word: str) -> None:
        """Enter one word (of two letters or more)."""
        self._first[len(word), word[0]].append(word)
        self._second[len(word), word[1]].append(word)

    def near(self, query: str, length: int, typos: int) -> set[str]:
        """Return the words of `length` within `typos` edits of `query` (not `query` itself)."""
        mask = np.uint64(sum({1 << (ord(char) & 63) for char in query}))  # distinct bits: an or
        found: set[str] = set()
        for letter in dict.fromkeys(query[:2]):
            for pools, masks, arrays in (
                (self._first, self._first_masks, self._first_words),
                (self._second, self._second_masks, self._second_words),
            ):
                pool = pools.get((length, letter))
                if not pool:
                    continue
                built = arrays.get((length, letter))
                if built is not None:
                    close = np.bitwise_count(masks[length, letter] ^ mask) <= 2 * typos
                    pool = built[close].tolist() + pool[len(built) :]
                for choice, distance, _ in process.extract(
                    query, pool, scorer=OSA.distance, score_cutoff=typos, limit=None
                ):
                    if distance:
                        found.add(choice)
        return found


class _Shelf:
    """What filters and sorts read of each product: one numpy array a field, by product number.

    Kept beside the postings and changed in place by `upsert`, so a new price or
    stock is seen by the next filter. Attributes are stored as value numbers, one
    column an attribute name (-1: the product has none).
    """

    def __init__(self, docs: list[SearchDoc]) -> None:
        count = len(docs)
        self.price = np.fromiter(map(attrgetter("price"), docs), np.int64, count)
        self.category = _categories_of([doc.category_id for doc in docs])
        self.created = np.fromiter(map(attrgetter("created"), docs), np.float64, count)
        self.order = _order_keys([doc.sort_order for doc in docs])
        self.attr_number: dict[str, int] = {}
        self.value_number: list[dict[str, int]] = []
        self.values: list[list[str]] = []
        self.attrs: list[NDArray[np.int32]] = []
        for n, doc in enumerate(docs):
            if doc.attrs:
                self._set_attrs(n, doc.attrs, count)

    def append(self, doc: SearchDoc) -> None:
        """Add the fields of the product just appended to the index's list."""
        self.price = np.append(self.price, doc.price)
        self.category = np.append(self.category, _categories_of([doc.category_id]))
        self.created = np.append(self.created, doc.created)
        self.order = np.append(self.order, _order_keys([doc.sort_order]))
        self.attrs = [np.append(column, np.int32(-1)) for column in self.attrs]
        self._set_attrs(len(self.price) - 1, doc.attrs, len(self.price))

    def update(self, n: int, doc: SearchDoc) -> None:
        """Take a product's new fields (its words unchanged)."""
        self.price[n] = doc.price
        self.category[n] = _categories_of([doc.category_id])[0]
        self.created[n] = doc.created
        self.order[n] = _order_keys([doc.sort_order])[0]
        for column in self.attrs:
            column[n] = -1
        self._set_attrs(n, doc.attrs, len(self.price))

    def _set_attrs(self, n: int, attrs: dict[str, str], count: int) -> None:
        for name, value in attrs.items():
            column = self.attr_number.get(name)
            if column is None:
                column = self.attr_number[name] = len(self.attrs)
                self.attrs.append(np.full(count, -1, np.int32))
                self.value_number.append({})
                self.values.append([])
            numbers = self.value_number[column]
            number = numbers.get(value)
            if number is None:
                number = numbers[value] = len(self.values[column])
                self.values[column].append(value)
            self.attrs[column][n] = number

    def narrow(self, docs: NDArray[np.int32], filters: Filters) -> NDArray[np.bool_] | None:
        """Return which of `docs` are within the price, stock and category of `filters`.

        None when those filters narrow nothing. (Stock is the index's to check.)
        """
        keep: NDArray[np.bool_] | None = None
        if filters.category_id is not None:
            keep = self.category[docs] == filters.category_id
        if filters.min_price is not None:
            keep = _both(keep, self.price[docs] >= filters.min_price)
        if filters.max_price is not None:
            keep = _both(keep, self.price[docs] <= filters.max_price)
        return keep

    def attr_masks(self, docs: NDArray[np.int32], filters: Filters) -> list[NDArray[np.bool_]]:
        """Return for each attribute filter which of `docs` hold the value asked for."""
        masks = []
        for name, value in filters.attrs:
            column = self.attr_number.get(name)
            number = -2 if column is None else self.value_number[column].get(value, -2)
            if column is None or number < 0:
                masks.append(np.zeros(len(docs), np.bool_))
            else:
                masks.append(self.attrs[column][docs] == number)
        return masks

    def facets(
        self, docs: NDArray[np.int32], filters: Filters, masks: list[NDArray[np.bool_]]
    ) -> dict[str, list[tuple[str, int]]]:
        """Return each attribute's values among `docs`, with how many products hold each.

        An attribute that is filtered on counts its values among the products
        every other filter lets through, so the other values stay offered (another
        brand); the rest count among the products every filter lets through.
        """
        filtered = {name: n for n, (name, _) in enumerate(filters.attrs)}
        facets: dict[str, list[tuple[str, int]]] = {}
        for name, column in self.attr_number.items():
            others = [mask for n, mask in enumerate(masks) if n != filtered.get(name)]
            held = self.attrs[column][docs]
            if others:
                held = held[np.logical_and.reduce(others)]
            counts = np.bincount(held[held >= 0], minlength=len(self.values[column]))
            present = np.flatnonzero(counts)
            values = self.values[column]
            pairs = [(values[n], int(counts[n])) for n in present.tolist()]
            if pairs:
                facets[name] = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
        return facets


class SearchIndex:
    """The index over a catalog; build it with `SearchIndex.build(docs)`."""

    def __init__(self) -> None:
        self._token_id: dict[str, int] = {}
        self._tokens: list[str] = []
        self._sorted: list[str] = []  # the vocabulary in order, for prefix ranges
        self._sorted_ids: NDArray[np.int32] = np.zeros(0, np.int32)
        self._words = _Pools()  # letter-only words, for typo search
        self._prefixes = _Pools()  # their prefixes, for a mistyped last word
        self._prefix_set: set[str] = set()
        self._df: NDArray[np.int64] = np.zeros(0, np.int64)  # products holding each word
        self._post_docs: NDArray[np.int32] = np.zeros(0, np.int32)
        self._post_start: NDArray[np.int64] = np.zeros(1, np.int64)
        # Words only a product's category names hold match it less well than its titles.
        self._weak_docs: NDArray[np.int32] = np.zeros(0, np.int32)
        self._weak_start: NDArray[np.int64] = np.zeros(1, np.int64)
        self._extra: dict[int, list[int]] = {}  # postings added since the build
        self._extra_weak: dict[int, list[int]] = {}
        self._weak_held: set[int] = set()  # words some category name holds
        self._docs: list[SearchDoc] = []
        self._shelf = _Shelf(self._docs)
        self._doc_of = _Lookup()  # product id -> doc
        self._sku_doc = _Lookup()  # hash of the folded sku -> doc
        self._alive: NDArray[np.bool_] = np.zeros(0, np.bool_)
        self._in_stock: NDArray[np.bool_] = np.zeros(0, np.bool_)
        self._sold: NDArray[np.int32] = np.zeros(0, np.int32)
        self._dead = 0
        self._built_docs = 0
        self._scratch_array: NDArray[np.int16] = np.zeros(0, np.int16)
        # Each product's words as built, in one flat array (a forward index), and the
        # words of each category: `_looked_up` reads them.
        self._own_tokens: NDArray[np.int32] = np.zeros(0, np.int32)
        self._own_start: NDArray[np.int64] = np.zeros(1, np.int64)
        self._category_of: NDArray[np.int32] = np.zeros(0, np.int32)
        self._category_tokens: NDArray[np.int32] = np.zeros(0, np.int32)
        self._category_start: NDArray[np.int64] = np.zeros(1, np.int64)
        self._by_word_array: NDArray[np.int16] = np.zeros(0, np.int16)

    @classmethod
    def build(cls, docs: Sequence[SearchDoc]) -> SearchIndex:
        """Index `docs` (active products) in one pass."""
        index = cls()
        index._bulk_load(list(docs))
        return index

    def __len__(self) -> int:
        return len(self._docs) - self._dead

    @property
    def vocabulary_size(self) -> int:
        """Return how many distinct words the catalog has."""
        return len(self._tokens)

    @property
    def overlay_share(self) -> float:
        """Return how much of the index is overlay or dead (time to `compact` above ~0.2)."""
        return (len(self._docs) - self._built_docs + self._dead) / max(1, len(self._docs))

    # --- building -----------------------------------------------------------------

    def _bulk_load(self, docs: list[SearchDoc]) -> None:
        first_seen: dict[str, int] = {}
        token_chunks: list[NDArray[np.int64]] = []
        owner_chunks: list[NDArray[np.int32]] = []
        counter = itertools.count()
        # In chunks, so the raw token strings of a million titles never all live at once.
        for start in range(0, len(docs), BUILD_CHUNK):
            chunk = docs[start : start + BUILD_CHUNK]
            raw = raw_tokens_of_many([_titles_text(doc) for doc in chunk])
            # setdefault hands each raw token the position of its first sighting: a C loop.
            sightings = np.fromiter(map(first_seen.setdefault, raw, counter), np.int64, len(raw))
            is_sentinel = sightings == first_seen[SENTINEL]
            owners = (np.cumsum(is_sentinel, dtype=np.int32) - is_sentinel + start).astype(np.int32)
            token_chunks.append(sightings[~is_sentinel])
            owner_chunks.append(owners[~is_sentinel])
            del raw
        sightings = np.concatenate(token_chunks) if token_chunks else np.zeros(0, np.int64)
        owners = np.concatenate(owner_chunks) if owner_chunks else np.zeros(0, np.int32)
        del token_chunks, owner_chunks
        # Dense ids: a scatter turns first-sighting positions into 0..V-1.
        self._tokens = [token for token in first_seen if token != SENTINEL]
        positions = np.fromiter(
            (first_seen[token] for token in self._tokens), np.int64, len(self._tokens)
        )
        dense = np.zeros(int(positions.max()) + 1 if len(positions) else 1, np.int32)
        dense[positions] = np.arange(len(self._tokens), dtype=np.int32)
        tokens = dense[sightings]
        del dense, sightings, first_seen
        self._token_id = dict(zip(self._tokens, range(len(self._tokens)), strict=True))
        tokens, owners, orphans = self._fold_vocabulary(tokens, owners)
        category_of, category_tokens = self._categories(docs)
        # The postings sort runs in numpy, which lets go of the GIL: the vocabulary
        # tables and per-product arrays are built meanwhile on this thread.
        with ThreadPoolExecutor(1) as pool:
            postings = pool.submit(_postings, tokens, owners, len(self._tokens))
            weak = pool.submit(_category_postings, category_of, category_tokens, len(self._tokens))
            own = pool.submit(_own_words, tokens, owners, len(docs))
            self._docs = docs
            self._shelf = _Shelf(docs)
            self._built_docs = len(docs)
            self._doc_of = _Lookup(np.fromiter(map(attrgetter("product_id"), docs), np.int64))
            self._sku_doc = _Lookup(_sku_hashes(docs))
            self._alive = np.ones(len(docs), np.bool_)
            self._in_stock = np.array([doc.in_stock for doc in docs], np.bool_)
            sold = np.array([doc.sold for doc in docs], np.int64)
            self._sold = np.minimum(sold, 2**31 - 1).astype(np.int32)
            self._refresh_vocabulary(orphans)
            self._post_docs, self._post_start, title_df = postings.result()
            self._weak_docs, self._weak_start, category_df = weak.result()
            self._weak_held = {token for tokens in category_tokens for token in tokens}
            self._own_tokens, self._own_start = own.result()
            self._category_of = category_of
            self._category_tokens = np.fromiter(
                itertools.chain.from_iterable(category_tokens), np.int32
            )
            self._category_start = np.zeros(len(category_tokens) + 1, np.int64)
            np.cumsum([len(tokens) for tokens in category_tokens], out=self._category_start[1:])
            self._df = title_df + category_df

    def _fold_vocabulary(
        self, tokens: NDArray[np.int32], owners: NDArray[np.int32]
    ) -> tuple[NDArray[np.int32], NDArray[np.int32], set[int]]:
        """Fold the raw words that fold further ("qualità" → "qualita"; "256gb" → "256", "gb").

        Returns the (word, product) pairs with folded words, and the raw words that
        were folded away and so hold no product.
        """
        orphans: set[int] = set()
        folding = [i for i, token in enumerate(self._tokens) if may_fold(token)]
        if not folding:
            return tokens, owners, orphans
        first = np.arange(len(self._tokens), dtype=np.int32)
        second = np.full(len(self._tokens), -1, np.int32)
        for i in folding:
            folded = fold_token(self._tokens[i])
            if folded == (self._tokens[i],):
                continue
            first[i] = self._add_token(folded[0])
            if len(folded) > 1:
                second[i] = self._add_token(folded[1])
            orphans.add(i)
        seconds = second[tokens]
        has_second = seconds >= 0
        return (
            np.concatenate([first[tokens], seconds[has_second]]),
            np.concatenate([owners, owners[has_second]]),
            orphans,
        )

    def _categories(self, docs: list[SearchDoc]) -> tuple[NDArray[np.int32], list[list[int]]]:
        """Return each product's category number, and the words of each category.

        A catalog has a few hundred categories: their words are folded once each,
        and their products found by category, not by splitting a million names.
        """
        number: dict[tuple[str, ...], int] = {}
        category_of = np.fromiter(
            (number.setdefault(doc.categories, len(number)) for doc in docs), np.int32, len(docs)
        )
        category_tokens = [
            list(dict.fromkeys(self._add_token(word) for word in words(" ".join(names))))
            for names in number
        ]
        return category_of, category_tokens

    def _add_token(self, token: str) -> int:
        known = self._token_id.get(token)
        if known is not None:
            return known
        self._token_id[token] = len(self._tokens)
        self._tokens.append(token)
        return len(self._tokens) - 1

    def _refresh_vocabulary(self, orphans: set[int]) -> None:
        """Build the sorted vocabulary and the typo pools from scratch.

        `orphans` are raw words that fold into others and so hold no product.
        """
        held = [n for n in range(len(self._tokens)) if n not in orphans]
        held.sort(key=self._tokens.__getitem__)
        self._sorted = [self._tokens[n] for n in held]
        self._sorted_ids = np.array(held, np.int32)
        typeable = [token for token in self._sorted if _typeable(token)]
        self._words = _Pools(typeable)
        prefixes = _distinct_prefixes(typeable)
        self._prefixes, self._prefix_set = _Pools(prefixes), set(prefixes)

    def _index_word(self, token: str) -> None:
        """Enter a word into the typo pools and prefix tables."""
        if not _typeable(token):
            return
        self._words.add(token)
        low, high = TYPO_PREFIX_LENGTHS
        for length in range(low, min(len(token), high) + 1):
            prefix = token[:length]
            if prefix not in self._prefix_set:
                self._prefix_set.add(prefix)
                self._prefixes.add(prefix)

    # --- live updates -------------------------------------------------------------

    def upsert(self, docs: Iterable[SearchDoc]) -> None:
        """Add products or replace them (new titles, stock, sales) without a rebuild."""
        for doc in docs:
            current = self._doc(doc.product_id)
            if current is not None:
                old = self._docs[current]
                if _same_words(old, doc):  # only price, stock, sales, attributes…
                    self._docs[current] = doc
                    self._shelf.update(current, doc)
                    self._in_stock[current] = doc.in_stock
                    self._sold[current] = min(doc.sold, 2**31 - 1)
                    continue
                self._kill(current)
            self._append(doc)

    def remove(self, product_ids: Iterable[int]) -> None:
        """Drop products (taken off sale or deleted)."""
        for product_id in product_ids:
            current = self._doc(product_id)
            if current is not None:
                self._kill(current)

    def _doc(self, product_id: int) -> int | None:
        """Return the live doc of a product, if any."""
        for doc in self._doc_of.get(product_id):
            if self._alive[doc]:
                return doc
        return None

    def _kill(self, doc: int) -> None:
        self._alive[doc] = False
        self._dead += 1

    def _append(self, doc: SearchDoc) -> None:
        """Add one product to the overlay."""
        number = len(self._docs)
        vocab_before = len(self._tokens)
        self._docs.append(doc)
        self._shelf.append(doc)
        self._doc_of.add(doc.product_id, number)
        self._sku_doc.add(hash(_sku_key(doc.sku)), number)
        self._alive = np.append(self._alive, True)
        self._in_stock = np.append(self._in_stock, doc.in_stock)
        self._sold = np.append(self._sold, np.int32(min(doc.sold, 2**31 - 1)))
        for token in dict.fromkeys(self._add_token(word) for word in words(_titles_text(doc))):
            self._extra.setdefault(token, []).append(number)
        for token in dict.fromkeys(
            self._add_token(word) for word in words(" ".join(doc.categories))
        ):
            self._extra_weak.setdefault(token, []).append(number)
            self._weak_held.add(token)
        for word in self._tokens[vocab_before:]:
            position = bisect.bisect_left(self._sorted, word)
            self._sorted.insert(position, word)
            self._sorted_ids = np.insert(self._sorted_ids, position, self._token_id[word])
            self._index_word(word)
        if len(self._tokens) > vocab_before:
            grown = len(self._tokens) - vocab_before
            self._df = np.concatenate([self._df, np.zeros(grown, np.int64)])
            self._post_start = np.concatenate(
                [self._post_start, np.full(grown, self._post_start[-1])]
            )
            self._weak_start = np.concatenate(
                [self._weak_start, np.full(grown, self._weak_start[-1])]
            )

    def compact(self) -> SearchIndex:
        """Return a fresh index of the live products (fold the overlay in)."""
        return SearchIndex.build([doc for n, doc in enumerate(self._docs) if self._alive[n]])

    # --- searching ----------------------------------------------------------------

    def suggest(self, query: str, limit: int = 10, locale: str | None = None) -> SearchResult:
        """Return the best products for what the customer typed so far."""
        del locale  # every translation is indexed; the caller shows the customer's title
        limit = max(1, min(limit, 100))
        text = query[:MAX_QUERY_CHARS]
        if not words(text) or not self._docs:
            return SearchResult(query, [], [])
        reading = self._read(text, limit, NO_FILTERS)
        hits = reading.hits
        sku = self._sku_of(reading.query_words, NO_FILTERS)
        if sku is not None:
            product = self._docs[sku]
            others = [h for h in hits if h.product.product_id != product.product_id]
            hits = [Hit(product, 1.0, ()), *others[: limit - 1]]
        return SearchResult(query, hits, self._did_you_mean_for(reading, hits))

    def find(
        self,
        query: str,
        filters: Filters = NO_FILTERS,
        *,
        offset: int = 0,
        limit: int = 10,
        locale: str | None = None,
    ) -> SearchResult:
        """Return one page of the products matching `query` (every product when empty) and `filters`.

        The results are the products matching every query word (read as `suggest`
        reads them); when none does, those matching the most words. Filters
        narrow them inside the index. They come in the order `filters.sort`
        asks for; relevance with no query is the shelf's order: in stock first,
        then the owner's `sort_order` (none last), then best sellers, then title.
        Ties in price or date keep that order (or relevance). A product named by
        its sku is among them, first by relevance. `total` counts every page;
        `facets` count each attribute's values among the results before that
        attribute's own filter, so another brand can be chosen. `limit` is 1-100.
        """
        del locale  # as in `suggest`
        offset, limit = max(0, offset), max(1, min(limit, 100))
        narrowing = replace(filters, attrs=(), sort=Sort.RELEVANCE)
        text = query[:MAX_QUERY_CHARS]
        ranking: _Ranking | None = None
        did_you_mean: list[str] = []
        if not words(text):
            docs = self._narrowed(None, narrowing)
        elif not self._docs:
            docs = np.zeros(0, np.int32)
        else:
            reading = self._read(text, 1, narrowing)
            did_you_mean = self._did_you_mean_for(reading, reading.hits)
            ranking = reading.ranking
            sku = self._sku_of(reading.query_words, narrowing)
            if ranking is None and sku is None:
                return SearchResult(query, [], did_you_mean)
            if sku is not None:
                did_you_mean = []
            ranking = (ranking or _Ranking.empty(reading.query_words)).at_best_level()
            ranking = ranking.with_sku(sku)
            docs = ranking.docs
        masks = self._shelf.attr_masks(docs, filters)
        facets = self._shelf.facets(docs, filters, masks)
        if masks:
            keep = np.logical_and.reduce(masks)
            docs = docs[keep]
            ranking = ranking.narrowed(keep) if ranking else None
        page = self._page(docs, ranking, filters.sort, offset + limit)[offset:]
        if ranking is None:
            hits = [Hit(self._docs[int(docs[n])], 0.0, ()) for n in page.tolist()]
        else:
            hits = [self._hit(ranking, n) for n in page.tolist()]
        return SearchResult(query, hits, did_you_mean, total=len(docs), facets=facets)

    def _narrowed(self, docs: NDArray[np.int32] | None, filters: Filters) -> NDArray[np.int32]:
        """Return those of `docs` (None: every product) alive and within `filters`' narrowing.

        A category shelf starts from a comparison over one array, not from every
        product; attribute filters are left to the caller (facets need the rest).
        """
        if docs is None:
            if filters.category_id is not None:
                docs = np.flatnonzero(self._shelf.category == filters.category_id).astype(np.int32)
                filters = replace(filters, category_id=None)
            else:
                docs = np.arange(len(self._docs), dtype=np.int32)
        keep = self._alive[docs] if self._dead else None
        if filters.in_stock:
            keep = _both(keep, self._in_stock[docs])
        narrowed = self._shelf.narrow(docs, filters)
        if narrowed is not None:
            keep = _both(keep, narrowed)
        return docs if keep is None else docs[keep]

    def _page(
        self, docs: NDArray[np.int32], ranking: _Ranking | None, sort: Sort, count: int
    ) -> NDArray[np.intp]:
        """Return the positions in `docs` of the first `count` results in the order of `sort`."""
        ties: list[NDArray[Any]]
        if ranking is None:
            # The shelf: out of stock last, then the owner's order, then best sellers, then title.
            shelf = (
                (~self._in_stock[docs]).astype(np.uint64) << 63
                | self._shelf.order[docs].astype(np.uint64) << 31
                | (2**31 - 1 - self._sold[docs]).astype(np.uint64)
            )
            ties = [shelf]
        elif sort is Sort.RELEVANCE and ranking.reading.any():
            return _diversified(ranking, count)
        else:
            ties = [-ranking.key]
        # Equal keys keep the products' order in the index: every page agrees.
        if sort is Sort.PRICE_UP:
            ties.insert(0, self._shelf.price[docs])
        elif sort is Sort.PRICE_DOWN:
            ties.insert(0, -self._shelf.price[docs])
        elif sort is Sort.NEWEST:
            ties.insert(0, -self._shelf.created[docs])
        if ranking is not None and sort is not Sort.RELEVANCE:
            # "coffee, cheapest first": the coffees by price, then the tea on the same shelf.
            ties.insert(0, ranking.only_by_category)
        if ranking is not None:
            return _first(ties, count)
        return _first(ties, count, lambda chosen: self._title_order(docs[chosen]))

    def _title_order(self, docs: NDArray[np.int32]) -> NDArray[np.int64]:
        """Return where each of `docs` falls among them in the order of titles."""
        titles = [self._docs[n].title for n in docs.tolist()]
        rank = np.empty(len(titles), np.int64)
        rank[sorted(range(len(titles)), key=titles.__getitem__)] = np.arange(len(titles))
        return rank

    def _sku_of(self, query_words: list[str], filters: Filters) -> int | None:
        """Return the product whose sku the query words spell, if alive and within `filters`."""
        key = "".join(query_words)
        sku = next(
            (
                doc
                for doc in self._sku_doc.get(hash(key))
                if self._alive[doc] and _sku_key(self._docs[doc].sku) == key
            ),
            None,
        )
        if sku is None:
            return None
        if filters.narrows or filters.category_id is not None:
            inside = self._narrowed(np.array([sku], np.int32), filters)
            return sku if len(inside) else None
        return sku

    def _read(self, text: str, limit: int, filters: Filters) -> _Reading:
        """Read the query as typed and, when it has other-layout keys, as retyped; keep the better."""
        query_words = words(text)[:MAX_QUERY_WORDS]
        reading = self._search(query_words, limit, filters)
        # Keys that type letters on the other layout (б ю ж э х ъ ё) are punctuation
        # here: retype the raw text, and keep whichever reading matches more.
        if any(mark in text for mark in LAYOUT_PUNCTUATION):
            retyped = words(retype_raw(text))[:MAX_QUERY_WORDS]
            if len(retyped) != len(query_words):
                other = self._search(retyped, limit, filters, retyped=True)
                if _strength(other.hits, len(retyped)) > _strength(reading.hits, len(query_words)):
                    reading = other
        return reading

    def _did_you_mean_for(self, reading: _Reading, hits: list[Hit]) -> list[str]:
        """Offer other words when the best product found does not match every query word."""
        complete = bool(hits) and (
            not hits[0].matches or len(hits[0].matches) == len(reading.query_words)
        )
        return [] if complete else self._did_you_mean(reading.query_words, reading.candidates)

    def _search(
        self, query_words: list[str], limit: int, filters: Filters, *, retyped: bool = False
    ) -> _Reading:
        last = len(query_words) - 1
        readings = [self._readings(word, retyped=retyped) for word in query_words]
        candidates = [
            self._candidates(spellings, last=n == last, only=last == 0)
            for n, spellings in enumerate(readings)
        ]
        candidates = self._completed(readings, candidates)
        ranking = self._rank(query_words, candidates, limit, filters)
        settled = [any(self._settles(c) for c in found) for found in candidates]
        if last and (ranking is None or ranking.level <= last) and any(settled):
            # No product holds every word: a word the catalog knows may still be a
            # typo ("canin mirrorless" is a Canon camera, not Royal Canin food).
            candidates = [
                self._candidates(spellings, last=n == last, only=False, typos=True)
                if typos_too
                else found
                for n, (spellings, found, typos_too) in enumerate(
                    zip(readings, candidates, settled, strict=True)
                )
            ]
            candidates = self._completed(readings, candidates)
            ranking = self._rank(query_words, candidates, limit, filters)
        hits = []
        if ranking is not None:
            hits = [self._hit(ranking, n) for n in _diversified(ranking, limit)]
        return _Reading(query_words, candidates, ranking, hits)

    def _candidates(
        self, readings: list[tuple[str, str | None]], *, last: bool, only: bool, typos: bool = False
    ) -> list[_Candidate]:
        """Return the catalog words a query word may stand for, in each of its `_readings`.

        Exact and prefix matches are looked up for every reading of the word (as
        typed, on the other layout, in the other alphabet): a Latin word that also
        begins a brand name must not hide the Russian word the customer meant.
        Typo search, the costly part, runs only when no reading matched a word more
        than a handful of products hold: a rare word may be spelled by chance
        ("кофеа" read in Latin is the brand "kofea"; "bulu", a brand, may be "bulg…"
        of bulgur mistyped), and the typo's reading still ranks below it. With
        `typos`, typo search runs whatever matched.
        """
        best: dict[int, _Candidate] = {}

        def keep(token: int, how: Match, variant: str | None) -> None:
            known = best.get(token)
            candidate = _Candidate(token, how, variant)
            if known is None or _value(candidate) > _value(known):
                best[token] = candidate

        for reading, variant in readings:
            exact = self._token_id.get(reading)
            if exact is not None and self._holds(exact):
                keep(exact, Match.EXACT, variant)
            # The last word is being typed; an earlier one may be cut short too ("sams gal",
            # "180 bos" for the 1800 W Bosch), from two characters on.
            if len(reading) >= 2 or (last and only):
                # Beside other words a short prefix may stand for more: they narrow it down.
                for token in self._prefix_range(reading, wide=last and not only):
                    keep(token, Match.PREFIX, variant)
        if not typos and any(self._settles(c) for c in best.values()):
            return list(best.values())
        for reading, variant in readings:
            for token in self._typos(reading):
                keep(token, Match.TYPO, variant)
            if last:
                for token in self._mistyped_prefix(reading):
                    keep(token, Match.TYPO_PREFIX, variant)
        return list(best.values())

    def _readings(self, word: str, *, retyped: bool) -> list[tuple[str, str | None]]:
        """Return `word` as typed, on the other layout and in the other alphabet, with which."""
        readings: list[tuple[str, str | None]] = [(word, "layout" if retyped else None)]
        for kind, spellings in (
            ("layout", [other_layout(word)]),
            ("translit", transliterations(word)),
        ):
            readings += [(spelling, kind) for spelling in spellings if spelling != word]
        # Latin spelling drops the soft sign: "pech" is печь, "mebel" мебель, exactly.
        readings += [
            (soft, "translit")
            for spelling, kind in readings
            if kind == "translit" and (soft := spelling + "ь") in self._token_id
        ]
        return readings

    def _completed(
        self, readings: list[list[tuple[str, str | None]]], candidates: list[list[_Candidate]]
    ) -> list[list[_Candidate]]:
        """Add to each query word the words it begins among the products of the rarest word.

        A short prefix stands for its most frequent words only ("tr": trimmer,
        tracker…), so the product a rarer word names ("deakma tr": the Deakam
        Trecutril) may hold none of them. When the rarest word's products are few,
        their own words complete the others, however rare. (The words added since
        the build are left out of which word is rarest, not of what it finds.)
        """
        if len(candidates) < 2:
            return candidates
        sizes = [int(self._df[[c.token for c in found]].sum()) for found in candidates]
        rarest = min(range(len(sizes)), key=sizes.__getitem__)
        if not candidates[rarest] or sizes[rarest] > COMPLETE_FROM:
            return candidates
        last = len(readings) - 1
        # Each other word's readings (as in `_candidates`, one letter beside others begins
        # nothing) and where the words they begin lie in the sorted vocabulary.
        ranges = [
            [
                (variant, *self._vocabulary_range(reading), _expansions(reading, wide=n == last))
                for reading, variant in spellings
                if len(reading) >= 2 and n != rarest
            ]
            for n, spellings in enumerate(readings)
        ]
        cut_short = any(end - start > cap for spans in ranges for _, start, end, cap in spans)
        if not cut_short:
            return candidates
        held = self._words_of(
            _sorted_unique(np.concatenate([self._postings(c.token) for c in candidates[rarest]]))
        )
        present = self._by_word()  # marked, not sorted: a few thousand products' words
        present[held] = 1
        completed = []
        for found, spans in zip(candidates, ranges, strict=True):
            known = {c.token for c in found}
            more = []
            for variant, start, end, _ in spans:
                ids = self._sorted_ids[start:end]
                for token in ids[present[ids] > 0].tolist():
                    if token not in known:
                        known.add(token)
                        more.append(_Candidate(token, Match.PREFIX, variant))
            completed.append(found + more)
        present[held] = 0
        return completed

    def _words_of(self, docs: NDArray[np.int32]) -> NDArray[np.int32]:
        """Return the words the titles of `docs` (sorted) hold, some more than once."""
        own = self._own_words(docs)
        later = [
            self._token_id[word]
            for doc in docs[own.built :].tolist()
            for word in words(_titles_text(self._docs[doc]))
        ]
        return np.concatenate([own.tokens, np.array(later, np.int32)])

    def _settles(self, candidate: _Candidate) -> bool:
        """Tell whether a match leaves no room for a typo: a common word, matched exactly."""
        return candidate.how is Match.EXACT and self._frequency(candidate.token) >= COMMON_WORD

    def _holds(self, token: int) -> bool:
        return self._df[token] > 0 or token in self._extra or token in self._extra_weak

    def _typos(self, word: str) -> list[int]:
        """Return words within the typos allowed, counted on the longer of the two words.

        "box" may be "xbox" (a letter lost from a four-letter word), and a word of
        six letters may be one of eight that lost two.
        """
        if not word.isalpha() or len(word) < 3:
            return []
        found: set[str] = set()
        for length in range(max(3, len(word) - 2), len(word) + 3):
            typos = _allowed_typos(max(len(word), length))
            if typos and abs(length - len(word)) <= typos:
                found |= self._words.near(word, length, typos)
        return self._most_frequent([self._token_id[token] for token in found])

    def _mistyped_prefix(self, word: str) -> list[int]:
        """Return the most frequent words that begin within the allowed typos of `word`."""
        low, high = TYPO_PREFIX_LENGTHS
        if not word.isalpha() or len(word) < low:
            return []
        word = word[:high]
        typos = _allowed_typos(len(word))
        tokens: list[int] = []
        for length in range(max(low, len(word) - typos), min(high, len(word) + typos) + 1):
            for prefix in self._prefixes.near(word, length, typos):
                tokens += self._prefix_range(prefix)
        return self._most_frequent(tokens)

    def _vocabulary_range(self, prefix: str) -> tuple[int, int]:
        """Return where the words starting with `prefix` begin and end in the sorted vocabulary."""
        start = bisect.bisect_left(self._sorted, prefix)
        return start, bisect.bisect_left(self._sorted, prefix + "\U0010ffff", start)

    def _prefix_range(self, prefix: str, *, wide: bool = False) -> list[int]:
        """Return the most frequent words that start with `prefix`."""
        start, end = self._vocabulary_range(prefix)
        ids = self._sorted_ids[start:end]
        cap = _expansions(prefix, wide=wide)
        if len(ids) > cap:
            ids = ids[np.argpartition(-self._df[ids], cap)[:cap]]
        return [int(token) for token in ids]

    def _most_frequent(self, tokens: list[int]) -> list[int]:
        """Return `tokens` capped to the most frequent ones."""
        if len(tokens) > MAX_EXPANSIONS:
            tokens = sorted(set(tokens), key=lambda token: -self._frequency(token))
            tokens = tokens[:MAX_EXPANSIONS]
        return tokens

    def _frequency(self, token: int) -> int:
        extra = len(self._extra.get(token, ())) + len(self._extra_weak.get(token, ()))
        return int(self._df[token]) + extra

    def _postings(self, token: int) -> NDArray[np.int32]:
        """Return the products whose titles hold `token`."""
        built = self._post_docs[self._post_start[token] : self._post_start[token + 1]]
        extra = self._extra.get(token)
        if extra:
            return np.concatenate([built, np.asarray(extra, np.int32)])
        return built

    def _weak_postings(self, token: int) -> NDArray[np.int32]:
        """Return the products whose category names hold `token`."""
        built = self._weak_docs[self._weak_start[token] : self._weak_start[token + 1]]
        extra = self._extra_weak.get(token)
        if extra:
            return np.concatenate([built, np.asarray(extra, np.int32)])
        return built

    def _rank(
        self,
        query_words: list[str],
        candidates: list[list[_Candidate]],
        limit: int,
        filters: Filters,
    ) -> _Ranking | None:
        """Score the products that can rank first within `filters`, enough for `limit` of them.

        A product that matches all (or all but one) of the query words holds one of
        the two rarest words, so their posting lists are gathered first; only when
        fewer than `limit` products match every word are the second rarest word's
        products scored (not when it is common and some products match every word),
        and only when none gets within one word of all, the rest.
        Cost follows the rare words' postings, not the catalog's size. The
        products at the best level are therefore all there.
        """
        present = [(n, self._marks(word)) for n, word in enumerate(candidates) if word]
        present = [(n, marks) for n, marks in present if marks]
        words_found = [marks for _, marks in present]
        if not words_found:
            return None
        sizes = [sum(len(mark[1]) for mark in marks) for marks in words_found]
        by_rarity = sorted(range(len(words_found)), key=sizes.__getitem__)
        docs = self._narrowed(self._union(words_found[by_rarity[0]]), filters)
        matched, quality, close, reading, found = self._score(docs, words_found)
        needed = len(words_found)
        full = int(np.count_nonzero(matched == needed))
        # Products holding the next rarest word fill the list, unless some products
        # hold every word and that word is common (a short prefix): its products would
        # hold a word of the query by chance, at the cost of all of them.
        if len(words_found) > 1 and full < limit and (not full or sizes[by_rarity[1]] <= FILL_FROM):
            second = self._narrowed(self._union(words_found[by_rarity[1]]), filters)
            docs = _sorted_unique(np.concatenate([docs, second]))
            matched, quality, close, reading, found = self._score(docs, words_found)
            if len(words_found) > 2 and (not len(matched) or int(matched.max()) < needed - 1):
                rest = [self._narrowed(self._union(words_found[n]), filters) for n in by_rarity[2:]]
                docs = _sorted_unique(np.concatenate([docs, *rest]))
                matched, quality, close, reading, found = self._score(docs, words_found)
        if not len(docs):
            return None
        # Words matched, then how well, then in stock, then sold: one integer key.
        in_stock = self._in_stock[docs].astype(np.int64)
        key = (
            matched.astype(np.int64) << 48
            | quality.astype(np.int64) << 36
            | in_stock << 32
            | self._sold[docs].astype(np.int64)
        )
        tier = matched.astype(np.int64) << 8 | close.astype(np.int64) << 1 | in_stock
        # The low bits of a product's mark name the match, in the order `_marks` gave them.
        ordered = [sorted(candidates[n], key=lambda c: (_value(c), c.token)) for n, _ in present]
        return _Ranking(
            query_words, [n for n, _ in present], ordered, docs, matched, key, tier, reading, found
        )

    def _marks(self, word: list[_Candidate]) -> list[_Mark]:
        """Return what each product holding one of a query word's matches scores, worst first.

        A word in the category names only is worth a half step less than in a
        title. The low bits of a score tell which of the word's matches it was.
        """
        marks: list[_Mark] = []
        for n, (value, token) in enumerate(sorted((_value(c), c.token) for c in word)):
            which = min(n, _WHICH_MASK)
            if token in self._weak_held:
                weak = self._weak_postings(token)
                marks.append(((2 * value + 1) << _WHICH_BITS | which, weak, token, True))
            postings = self._postings(token)
            if len(postings):
                marks.append(((2 * value + 2) << _WHICH_BITS | which, postings, token, False))
        marks.sort(key=lambda mark: mark[0])
        return marks

    def _score(
        self, docs: NDArray[np.int32], words_found: list[list[_Mark]]
    ) -> tuple[
        NDArray[np.int8],
        NDArray[np.int16],
        NDArray[np.int16],
        NDArray[np.int64],
        list[NDArray[np.int16]],
    ]:
        """Return, for each of `docs`, how many words it matches, their summed value, and how.

        The second sum counts a whole word as its start (`_Ranking.tier`). How is a number naming which catalog word each query word matched in the
        product ("hp pr" as "hp printer" or as "hp probook"), for `_diversified`;
        last come each word's best marks, which name the match itself.

        A word's marks are spread over a scratch array through its posting lists,
        unless those lists are long beside `docs` (a short prefix standing for
        hundreds of words): then each of `docs` looks up its own words instead.
        """
        matched = np.zeros(len(docs), np.int8)
        quality = np.zeros(len(docs), np.int16)
        close = np.zeros(len(docs), np.int16)
        reading = np.zeros(len(docs), np.int64)
        best: list[NDArray[np.int16]] = []
        own: _OwnWords | None = None
        for marks in words_found:
            if sum(len(mark[1]) for mark in marks) > FORWARD_FROM * len(docs):
                own = own or self._own_words(docs)
                found = self._looked_up(docs, marks, own)
            else:
                found = self._spread(docs, marks)
            best.append(found)
            values = found >> _WHICH_BITS
            matched += values > 0
            quality += values
            close += values - 2 * (values >= WHOLE_WORD)
            if any(mark[0] & _WHICH_MASK for mark in marks):  # the word matched several ways
                # Overflow only wraps the number around: it still tells readings apart.
                reading = reading * 1_000_003 + (found & _WHICH_MASK)
        return matched, quality, close, reading, best

    def _spread(self, docs: NDArray[np.int32], marks: list[_Mark]) -> NDArray[np.int16]:
        """Return each of `docs`' best mark, spreading the marks through their posting lists."""
        scratch = self._scratch()
        if len(marks) > SPREAD_ONE_BY_ONE:
            # A prefix's hundreds of lists: one array and one `maximum.at`, not a call a list.
            every = np.concatenate([mark[1] for mark in marks])
            values = np.repeat(
                np.array([mark[0] for mark in marks], np.int16), [len(mark[1]) for mark in marks]
            )
            np.maximum.at(scratch, every, values)
            found = scratch[docs]
            scratch[every] = 0
            return found
        for mark, postings, _, _ in marks:  # worst to best: each product keeps its best
            scratch[postings] = mark
        found = scratch[docs]
        for _, postings, _, _ in marks:  # leave the scratch zeroed, touching only what we set
            scratch[postings] = 0
        return found

    def _own_words(self, docs: NDArray[np.int32]) -> _OwnWords:
        """Gather the words of `docs` as built (in one flat array), and their categories."""
        built = int(np.searchsorted(docs, self._built_docs))
        head = docs[:built]
        starts = self._own_start[head]
        lengths = (self._own_start[head + 1] - starts).astype(np.int64)
        offsets = np.zeros(len(head), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        total = int(lengths.sum())
        positions = np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)
        held = lengths > 0
        return _OwnWords(
            built, self._own_tokens[positions], offsets[held], held, self._category_of[head]
        )

    def _looked_up(
        self, docs: NDArray[np.int32], marks: list[_Mark], own: _OwnWords
    ) -> NDArray[np.int16]:
        """Return each of `docs`' best mark, looking each product's own words up in the marks."""
        found = np.zeros(len(docs), np.int16)
        head = found[: own.built]  # a view: the products there at the build
        titles = [mark for mark in marks if not mark[3]]
        categories = [mark for mark in marks if mark[3]]
        if titles and len(own.tokens):
            head[own.held] = self._best_of(titles, own.tokens, own.offsets)
        if categories and len(self._category_tokens):
            held = np.diff(self._category_start) > 0
            by_category = np.zeros(len(held), np.int16)
            starts = self._category_start[:-1][held]
            by_category[held] = self._best_of(categories, self._category_tokens, starts)
            np.maximum(head, by_category[own.categories], out=head)
        if own.built < len(docs):  # products added since the build: their own postings
            later = [self._later_mark(mark) for mark in marks]
            found[own.built :] = self._spread(docs[own.built :], later)
        return found

    def _best_of(
        self, marks: list[_Mark], tokens: NDArray[np.int32], starts: NDArray[np.int64]
    ) -> NDArray[np.int16]:
        """Return the best of `marks` among each run of `tokens` (the runs begin at `starts`)."""
        by_word = self._by_word()
        for mark, _, token, _ in marks:  # worst to best: the best stays
            by_word[token] = mark
        best = np.maximum.reduceat(by_word[tokens], starts)
        for _, _, token, _ in marks:
            by_word[token] = 0
        return best

    def _later_mark(self, mark: _Mark) -> _Mark:
        """Return a mark with only the postings added since the build."""
        value, _, token, only_category = mark
        extra = (self._extra_weak if only_category else self._extra).get(token, [])
        return value, np.asarray(extra, np.int32), token, only_category

    def _by_word(self) -> NDArray[np.int16]:
        if len(self._by_word_array) < len(self._tokens):
            self._by_word_array = np.zeros(len(self._tokens) + 1024, np.int16)
        return self._by_word_array

    def _scratch(self) -> NDArray[np.int16]:
        if len(self._scratch_array) < len(self._docs):
            self._scratch_array = np.zeros(len(self._docs) + 1024, np.int16)
        return self._scratch_array

    def _union(self, marks: list[_Mark]) -> NDArray[np.int32]:
        """Return the products holding any of a word's matches, sorted."""
        if len(marks) == 1:
            return marks[0][1]  # postings are sorted and unique already
        arrays = [mark[1] for mark in marks]
        if sum(len(a) for a in arrays) < len(self._docs) // 16:
            return _sorted_unique(np.concatenate(arrays))
        # A very common word (a short prefix): mark a dense array rather than sort.
        scratch = self._scratch()
        for array in arrays:
            scratch[array] = 1
        docs = np.flatnonzero(scratch[: len(self._docs)]).astype(np.int32)
        scratch[docs] = 0
        return docs

    def _hit(self, ranking: _Ranking, n: int) -> Hit:
        """Return the `n`-th product ranked, with the match its mark names for each query word.

        (A word with more matches than `_WHICH_MASK` names all those past it alike,
        and reports that one.) The product named by its sku is a perfect match of no word.
        """
        doc = int(ranking.docs[n])
        if doc == ranking.sku:
            return Hit(self._docs[doc], 1.0, ())
        matches = []
        query_words = ranking.query_words
        for word, word_candidates, marks in zip(
            ranking.words_of, ranking.ordered, ranking.found, strict=True
        ):
            mark = int(marks[n])
            if mark >> _WHICH_BITS:
                top = word_candidates[mark & _WHICH_MASK]
                matches.append(
                    WordMatch(query_words[word], self._tokens[top.token], top.how, top.variant)
                )
        score = sum(m.how - (m.variant is not None) * 0.5 for m in matches) / (4 * len(query_words))
        return Hit(self._docs[doc], round(score, 3), tuple(matches))

    def _did_you_mean(
        self, query_words: list[str], candidates: list[list[_Candidate]]
    ) -> list[str]:
        """Offer the catalog's own words for the query words that found nothing good."""
        options: list[list[str]] = []
        for word, word_candidates in zip(query_words, candidates, strict=True):
            if any(c.how >= Match.PREFIX and c.variant is None for c in word_candidates):
                options.append([word])
                continue
            close: set[str] = set()
            for reading in (word, other_layout(word), *transliterations(word)):
                if reading.isalpha() and len(reading) >= 3:
                    for length in range(max(3, len(reading) - 2), len(reading) + 3):
                        close |= self._words.near(reading, length, 2)
            ranked = sorted(close, key=lambda t: -self._frequency(self._token_id[t]))
            options.append(ranked[:3] or [word])
        phrases = [" ".join(choice) for choice in itertools.islice(itertools.product(*options), 3)]
        query = " ".join(query_words)
        return [phrase for phrase in phrases if phrase != query]


def _postings(
    tokens: NDArray[np.int32], owners: NDArray[np.int32], vocabulary: int
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """Return the products of each word in one flat array, where each word starts, and counts."""
    pairs = _sorted_unique(tokens.astype(np.int64) << 32 | owners.astype(np.int64))
    counts = np.bincount((pairs >> 32).astype(np.int32), minlength=vocabulary)
    starts = np.zeros(vocabulary + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    return (pairs & 0xFFFFFFFF).astype(np.int32), starts, counts.astype(np.int64)


def _own_words(
    tokens: NDArray[np.int32], owners: NDArray[np.int32], count: int
) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Return each product's words in one flat array, and where each product's start.

    The pairs come in product order but for the second halves of split words
    ("256gb" → "gb") at the end: a stable sort of nearly sorted owners is near linear.
    """
    order = np.argsort(owners, kind="stable")
    starts = np.zeros(count + 1, np.int64)
    np.cumsum(np.bincount(owners, minlength=count), out=starts[1:])
    return tokens[order].astype(np.int32), starts


def _sorted_unique(values: NDArray[Any]) -> NDArray[Any]:
    """Return `values` sorted without repeats (a plain sort and a mask: faster than np.unique)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _titles_text(doc: SearchDoc) -> str:
    """Return a product's titles in every locale, as one text."""
    return " ".join((doc.title, *doc.titles.values())) if doc.titles else doc.title


def _same_words(old: SearchDoc, new: SearchDoc) -> bool:
    """Tell whether a change leaves every word search matches as it was."""
    return (old.title, old.titles, old.categories, old.sku) == (
        new.title,
        new.titles,
        new.categories,
        new.sku,
    )


def _category_postings(
    category_of: NDArray[np.int32], category_tokens: list[list[int]], vocabulary: int
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """Return the products of each category word in one flat array, where each starts, counts."""
    by_category = np.argsort(category_of, kind="stable").astype(np.int32)
    bounds = np.searchsorted(category_of[by_category], np.arange(len(category_tokens) + 1))
    holders: dict[int, list[int]] = {}
    for category, tokens in enumerate(category_tokens):
        for token in tokens:
            holders.setdefault(token, []).append(category)
    counts = np.zeros(vocabulary, np.int64)
    parts = [np.zeros(0, np.int32)]
    for token in sorted(holders):
        runs = [by_category[bounds[c] : bounds[c + 1]] for c in holders[token]]
        # Each run is sorted already: a stable (merging) sort joins them in linear time.
        parts.append(np.sort(np.concatenate(runs), kind="stable"))
        counts[token] = len(parts[-1])
    starts = np.zeros(vocabulary + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    return np.concatenate(parts), starts, counts


def _sku_key(sku: str) -> str:
    return "".join(words(sku))


def _masks_by_pool(
    pools: dict[tuple[int, str], list[str]],
) -> dict[tuple[int, str], NDArray[np.uint64]]:
    """Return the letter masks of every pool's words: a bit for each letter a word has.

    One numpy pass over all the words: each letter's code point modulo 64 picks
    its bit, which keeps the 32 Cyrillic letters (ё is е by then) and the 26 Latin
    ones apart within their alphabet (a shared bit only lets more words through
    to the real test).
    """
    keys = list(pools)
    words = [word for key in keys for word in pools[key]]
    if not words:
        return {}
    codes = np.frombuffer("".join(words).encode("utf-32-le"), np.uint32)
    bits = np.left_shift(np.uint64(1), (codes & 63).astype(np.uint64))
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    starts = np.zeros(len(words), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    masks = np.bitwise_or.reduceat(bits, starts)
    bounds = np.cumsum([len(pools[key]) for key in keys])[:-1]
    return dict(zip(keys, np.split(masks, bounds), strict=True))


def _large_pools(pools: dict[tuple[int, str], list[str]]) -> dict[tuple[int, str], NDArray[Any]]:
    """Return the pools worth narrowing by letters first, as arrays of their words."""
    return {
        key: np.array(pool, dtype=object)
        for key, pool in pools.items()
        if len(pool) > FILTER_POOLS_FROM
    }


def _distinct_prefixes(words: list[str]) -> list[str]:
    """Return the distinct prefixes of `words` a mistyped last word is matched against.

    Cut and deduplicated in numpy, one pass a length: a hundred thousand words
    have some 200,000 prefixes, each a Python slice and a dict entry otherwise.
    """
    if not words:
        return []
    low, high = TYPO_PREFIX_LENGTHS
    heads = np.array(words, dtype=f"<U{high}")  # cut to the longest prefix
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    prefixes: list[str] = []
    for length in range(low, high + 1):
        prefixes += np.unique(heads[lengths >= length].astype(f"<U{length}")).tolist()
    return prefixes


def _typeable(token: str) -> bool:
    """Tell whether typo search may find a word: numbers and model names match exactly or by prefix."""
    return len(token) >= 3 and token.isalpha()


def _sku_hashes(docs: list[SearchDoc]) -> NDArray[np.int64]:
    """Return the hash of each folded sku ("APL-IP15-128" → "aplip15128"), folded in one C pass."""
    keys = squeezed_many([doc.sku for doc in docs])
    if len(keys) != len(docs):  # a sku holding the separator word itself: one at a time
        keys = [_sku_key(doc.sku) for doc in docs]
    return np.fromiter(map(hash, keys), np.int64, len(docs))


class _Lookup:
    """Integer keys (product ids, hashes of skus) to docs: sorted arrays, and a dict for later ones.

    A million keys in a dict cost some 130 MiB with their strings or ints; as two
    arrays, 12 MiB. A key may name several docs (a product replaced, a hash shared):
    the caller picks the live one that fits.
    """

    def __init__(self, keys: NDArray[np.int64] | None = None) -> None:
        keys = np.zeros(0, np.int64) if keys is None else keys
        self._order = np.argsort(keys, kind="stable").astype(np.int32)
        self._keys = keys[self._order]
        self._later: dict[int, list[int]] = {}

    def add(self, key: int, doc: int) -> None:
        """Enter a doc appended after the build."""
        self._later.setdefault(key, []).append(doc)

    def get(self, key: int) -> list[int]:
        """Return the docs entered under `key`, the latest first."""
        later = self._later.get(key, [])[::-1]
        if not -(2**63) <= key < 2**63:
            return later
        start = int(np.searchsorted(self._keys, key))
        end = start
        while end < len(self._keys) and self._keys[end] == key:
            end += 1
        built: list[int] = self._order[start:end].tolist()
        return later + built


def _diversified(ranking: _Ranking, limit: int) -> NDArray[Any]:
    """Return the positions of the best `limit` products ranked, best first, varied among equals.

    Products equally good for the query (same words matched, as well but for a
    whole word against its start, same stock) are shown one per reading first —
    "hp pr" as printer, as ProBook, as Pro; "huawei mate" as Mate and as MatePad —
    whole words first, then the readings that more of them share, and popularity
    within a reading: a top five of a single reading answers only one of the
    things a short or mistyped word may mean.
    """
    key, reading = ranking.key, ranking.reading
    if not reading.any():  # every query word matched one way: popularity alone
        top = np.argpartition(-key, limit)[:limit] if len(key) > limit else np.arange(len(key))
        return top[np.argsort(-key[top], kind="stable")]
    tier = ranking.tier
    # The tier of the limit-th best: counted, not partitioned (a few thousand values
    # shared by tens of thousands of products make a partition slow).
    from_top = np.cumsum(np.bincount(tier)[::-1])
    boundary = len(from_top) - 1 - int(np.searchsorted(from_top, min(limit, len(tier))))
    above = np.flatnonzero(tier > boundary)
    at = np.flatnonzero(tier == boundary)
    if len(at) > DIVERSIFY_SAMPLE:
        at = at[np.argpartition(-key[at], DIVERSIFY_SAMPLE)[:DIVERSIFY_SAMPLE]]
    chosen = np.concatenate([above, at])
    tiers, keys = tier[chosen], key[chosen]
    # One id per reading within a tier, with how many products share it.
    _, group, shared = np.unique(
        reading[chosen] * 1_000_003 + tiers, return_inverse=True, return_counts=True
    )
    by_group = np.lexsort((-keys, group))
    starts = np.flatnonzero(np.diff(group[by_group], prepend=-1))
    place = np.empty(len(chosen), np.int64)  # a product's place in its reading's popularity
    place[by_group] = np.arange(len(chosen)) - np.repeat(
        starts, np.diff(starts, append=len(chosen))
    )
    order = np.lexsort((-keys, -shared[group], -(keys >> 32), place, -tiers))
    return chosen[order[:limit]]


def _strength(hits: list[Hit], query_words: int) -> tuple[float, float]:
    """Return how well a reading of the query did: the share of words matched, then score."""
    if not hits:
        return (0.0, 0.0)
    return (len(hits[0].matches) / query_words, hits[0].score)


def _value(candidate: _Candidate) -> int:
    """Return what a match is worth; a retyped word (layout, alphabet) a step less."""
    return int(candidate.how) - (candidate.variant is not None)


def _expansions(prefix: str, *, wide: bool) -> int:
    """Return how many of the words `prefix` begins it stands for: the most frequent."""
    return WIDE_EXPANSIONS if wide else EXPANSIONS_BY_LENGTH.get(len(prefix), MAX_EXPANSIONS)


def _allowed_typos(length: int) -> int:
    """Return how many typos a word of `length` letters may have: 1 from 4 letters, 2 from 8."""
    if length < 4:
        return 0
    return 1 if length < 8 else 2


def _categories_of(ids: list[int | None]) -> NDArray[np.int64]:
    """Return category ids as an array, `NO_CATEGORY` for none (None reads as NaN, in C)."""
    values = np.array(ids, np.float64)
    return np.where(np.isnan(values), NO_CATEGORY, values).astype(np.int64)


def _order_keys(orders: list[int | None]) -> NDArray[np.uint32]:
    """Return the owner's shelf order as unsigned keys, `UNORDERED` (last) for none.

    Orders beyond 32 bits are clipped: a shelf has no use for them.
    """
    values = np.array(orders, np.float64)
    keys = np.full(len(values), UNORDERED, np.uint32)
    known = ~np.isnan(values)
    keys[known] = (np.clip(values[known], -(2**31), 2**31 - 2) + 2**31).astype(np.uint32)
    return keys


def _both(first: NDArray[np.bool_] | None, second: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return second if first is None else first & second


def _first(
    keys: list[NDArray[Any]],
    count: int,
    last: Callable[[NDArray[np.intp]], NDArray[Any]] | None = None,
) -> NDArray[np.intp]:
    """Return the positions of the `count` smallest rows by `keys` (the first most significant).

    Only the rows up to the count-th smallest first key are sorted (ties with it
    included): a page of a million products sorts a few, not all. `last` gives the
    least significant key of those rows only (titles: too costly for every row).
    """
    primary = keys[0]
    if 0 < count < len(primary):
        cut = np.partition(primary, count - 1)[count - 1]
        chosen = np.flatnonzero(primary <= cut)
    else:
        chosen = np.arange(len(primary))
    columns = [key[chosen] for key in keys]
    if last is not None:
        columns.append(last(chosen))
    order = np.lexsort(columns[::-1])
    return chosen[order[:count]]
