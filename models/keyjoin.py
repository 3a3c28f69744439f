"""Exact row matching on composite keys (e.g. organization, cycle, employee_id) without a polars hash join.

A polars join of a million rows on three string columns spends most of its time hashing the strings into a
table far larger than the CPU caches. :func:`match_rows` instead hashes each side's keys once to a 64-bit
value, sorts both sides by it (with the row position packed into the low bits, so one SIMD sort of plain
integers also gives the permutation) and merges them. Every candidate pair is then checked on the key values
themselves, so a hash collision can never pair different keys: the result is exactly that of a join.

Callers gather the other side's columns with the positions (:func:`take`) and keep their own row order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
from numpy.typing import NDArray

IndexArray = NDArray[np.int64]

_SEEDS = (0x5EED_0001, 0x5EED_0002, 0x5EED_0003)  # a collision of truncated hashes retries with the next


def _hashes(frame: pl.DataFrame, keys: Sequence[str], seed: int) -> NDArray[np.uint64]:
    expr = pl.lit(0, dtype=pl.UInt64)
    for i, key in enumerate(keys):
        expr = expr ^ pl.col(key).hash(seed + 7919 * i)
    return frame.select(expr.alias("_h")).to_series().to_numpy()


def _valid(frame: pl.DataFrame, keys: Sequence[str]) -> NDArray[np.bool_] | None:
    """Rows whose keys are all non-null (None when every row's are): null keys never match, as in a join."""
    if not any(frame[k].null_count() for k in keys):
        return None
    return frame.select(pl.all_horizontal([pl.col(k).is_not_null() for k in keys])).to_series().to_numpy()


def _equal_keys(
    left: pl.DataFrame, right: pl.DataFrame, keys: Sequence[str], li: IndexArray | None, ri: IndexArray
) -> NDArray[np.bool_]:
    """Per pair (left row li[j] — every row in order when li is None —, right row ri[j]): all keys equal.

    ``right`` is gathered from at random, so its key columns are made contiguous first (gathering from one
    chunk is several times faster than from the record batches a database hands over)."""
    right = right.select(keys).rechunk()
    rpos = pl.Series(ri)
    same = np.ones(ri.size, dtype=np.bool_)
    for key in keys:
        lcol = left[key] if li is None else left[key].gather(pl.Series(li))
        same &= (lcol == right[key].gather(rpos)).fill_null(False).to_numpy()
    return same


class RowMatcher:
    """Pairs rows of frames on ``keys`` like a left join does; each frame's hashes are sorted once, so a frame
    matched twice (e.g. as the left side of one match and the right side of another) is hashed once.

    ``sizes`` are the heights of the frames to be matched (row positions are packed into ``bit_length`` of
    the largest; a larger frame is refused)."""

    def __init__(self, keys: Sequence[str], *sizes: int) -> None:
        self.keys = list(keys)
        self.bits = max(1, max(sizes, default=1)).bit_length()
        self._low = np.uint64((1 << self.bits) - 1)
        self._sorted: dict[tuple[int, int], tuple[pl.DataFrame, NDArray[np.uint64], IndexArray]] = {}

    def _sorted_hashes(self, frame: pl.DataFrame, seed: int) -> tuple[NDArray[np.uint64], IndexArray]:
        """The frame's hashes (low bits cleared) in ascending order and the row of each, rows with a null key
        left out."""
        cached = self._sorted.get((id(frame), seed))
        if cached is not None and cached[0] is frame:
            return cached[1], cached[2]
        hashes = _hashes(frame, self.keys, seed)
        packed = (hashes & ~self._low) | np.arange(hashes.size, dtype=np.uint64)
        valid = _valid(frame, self.keys)
        if valid is not None:
            packed = packed[valid]
        packed.sort()
        out = packed & ~self._low, (packed & self._low).astype(np.int64)
        self._sorted[(id(frame), seed)] = (frame, *out)
        return out

    def presort(self, *frames: pl.DataFrame) -> None:
        """Hash and sort the frames to be matched side by side (numpy and polars release the GIL)."""
        todo = [f for f in frames if (id(f), _SEEDS[0]) not in self._sorted and f.height]
        if len(todo) < 2:
            return
        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
            list(pool.map(lambda f: self._sorted_hashes(f, _SEEDS[0]), todo))

    def match(self, left: pl.DataFrame, right: pl.DataFrame) -> IndexArray | None:
        """For every row of ``left`` the position in ``right`` of the row with equal keys (all non-null), -1
        where there is none — what a left join pairs. None when two rows of ``right`` share their keys (or the
        key types of the two sides differ): the caller then joins the general way."""
        n, m = left.height, right.height
        if max(n, m) >> self.bits or any(left.schema[k] != right.schema[k] for k in self.keys):
            return None
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or m == 0:
            return out
        self.presort(left, right)
        for seed in _SEEDS:
            r_hash, r_pos = self._sorted_hashes(right, seed)
            dup = np.flatnonzero(r_hash[1:] == r_hash[:-1])
            if dup.size:
                if _equal_keys(right, right, self.keys, r_pos[dup], r_pos[dup + 1]).any():
                    return None  # duplicate keys on the right: a join would repeat rows
                continue  # only a collision of the truncated hashes: try another seed
            if r_hash.size == 0:
                return out
            l_hash, l_pos = self._sorted_hashes(left, seed)
            # both sides sorted: polars merges them (no hash table); the hashes of the right are unique
            pairs = pl.DataFrame({"h": pl.Series(l_hash).set_sorted(), "l": l_pos}).join(
                pl.DataFrame({"h": pl.Series(r_hash).set_sorted(), "r": r_pos}), on="h", how="inner"
            )
            out[pairs["l"].to_numpy()] = pairs["r"].to_numpy()
            # equal hashes but different keys: the only candidate is not a match
            out[~_equal_keys(left, right, self.keys, None, np.maximum(out, 0))] = -1
            return out
        return None


def match_rows(left: pl.DataFrame, right: pl.DataFrame, keys: Sequence[str]) -> IndexArray | None:
    """:meth:`RowMatcher.match` of two frames."""
    return RowMatcher(keys, left.height, right.height).match(left, right)


def codes(column: str, values: Sequence[str], default: int | None) -> pl.Expr:
    """Position of the column's value in ``values`` (``default`` for others and null), as Int64: a chain of
    equality tests for a few values (faster than ``replace_strict``'s join), ``replace_strict`` for many."""
    if len(values) > 32:
        return pl.col(column).replace_strict(
            {v: i for i, v in enumerate(values)}, default=default, return_dtype=pl.Int64
        )
    expr = pl.lit(default, dtype=pl.Int64)
    for i, value in reversed(list(enumerate(values))):
        expr = pl.when(pl.col(column) == value).then(pl.lit(i, dtype=pl.Int64)).otherwise(expr)
    return expr


def aligned(frame: pl.DataFrame, columns: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``columns`` (as many rows) added, each cut into the chunks of ``frame``'s columns.

    An expression on a frame whose columns are chunked differently makes polars first copy the whole frame
    into one chunk (0.1 s for a million evaluations); cut alike, the columns are added without a copy."""
    if frame.width == 0 or frame.to_series(0).n_chunks() <= 1:
        return frame.hstack(columns.rechunk())
    bounds, start = [], 0
    for chunk in frame.to_series(0).get_chunks():
        bounds.append((start, chunk.len()))
        start += chunk.len()
    columns = columns.rechunk()
    return frame.hstack(
        [pl.concat([s.slice(a, n) for a, n in bounds], rechunk=False) for s in columns.iter_columns()]
    )


def take(series: pl.Series, positions: IndexArray) -> pl.Series:
    """``series`` at ``positions`` (null where a position is -1)."""
    index = pl.Series(positions.astype(np.uint32) if positions.size and positions.min() >= 0 else positions)
    if index.dtype != pl.UInt32:
        index = pl.select(pl.when(index >= 0).then(index)).to_series().cast(pl.UInt32)
    return series.rechunk().gather(index)


def unmatched(positions: IndexArray, size: int) -> NDArray[np.bool_]:
    """Rows of the right side (``size`` rows) that no position points at (the right-only rows of a full join)."""
    free = np.ones(size, dtype=np.bool_)
    free[positions[positions >= 0]] = False
    return free
