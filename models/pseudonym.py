"""Keyed pseudonymisation (HMAC-SHA256) of employee and evaluator identifiers.

The key lives outside the repository and the database (EDPB guidelines 01/2025: pseudonymised data is still
personal data; a plain hash of an employee number is reversible by enumeration). Source: CALIBRA_PSEUDONYM_KEY
(hex), else the file CALIBRA_KEY_FILE, else ~/.config/calibra/pseudonym.key, created 0600 on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

from models.errors import ConfigError

PREFIX = "p"
DIGEST_CHARS = 16  # 64 bits: collision-free in practice for any workforce, short enough to read aloud


def default_key_file() -> Path:
    return Path(os.environ.get("CALIBRA_KEY_FILE") or Path.home() / ".config" / "calibra" / "pseudonym.key")


def load_key(key_file: Path | None = None) -> bytes:
    env_key = os.environ.get("CALIBRA_PSEUDONYM_KEY")
    if env_key:
        try:
            key = bytes.fromhex(env_key)
        except ValueError:
            raise ConfigError("CALIBRA_PSEUDONYM_KEY must be a hexadecimal string") from None
        if len(key) < 16:
            raise ConfigError("CALIBRA_PSEUDONYM_KEY must hold at least 16 bytes (32 hex characters)")
        return key
    path = key_file or default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created with 0600 from the start: no window in which others could read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    key = bytes.fromhex(path.read_text().strip())
    if len(key) < 16:
        raise ConfigError(f"the pseudonymisation key in {path} is too short")
    return key


def pseudonymise_value(key: bytes, organization: str, raw_id: str) -> str:
    digest = hmac.new(key, f"{organization}\x1f{raw_id}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGEST_CHARS]


# The same people come back in every export (evaluations, awards and payroll of each cycle): one process
# computes each pseudonym once. The cache is a table of (organization, raw id, pseudonym) per key, looked up
# with polars joins, so a file pays a keyed hash only for ids not seen before. Bounded, in memory only,
# never written or logged.
_CACHE_LIMIT = 4_000_000
_PAIR_SCHEMA = {"organization": pl.String, "_raw": pl.String}
_cache: dict[bytes, pl.DataFrame] = {}


def pseudonymise_many(key: bytes, organizations: list[str], raw_ids: list[str]) -> list[str]:
    """`pseudonymise_value` over two lists: HMAC-SHA256 (RFC 2104) with the keyed inner and outer hash states
    computed once and copied per value (a new HMAC object per value costs several times more)."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    out: list[str] = []
    for organization, raw_id in zip(organizations, raw_ids, strict=True):
        mac = inner.copy()
        mac.update(f"{organization}\x1f{raw_id}".encode())
        result = outer.copy()
        result.update(mac.digest())
        out.append(PREFIX + result.hexdigest()[:DIGEST_CHARS])
    return out


def _pseudonyms_of(key: bytes, pairs: pl.DataFrame) -> pl.DataFrame:
    """(organization, _raw, _pseudonym) for distinct (organization, _raw) pairs, from the cache where known."""
    known = _cache.get(key, pl.DataFrame(schema={**_PAIR_SCHEMA, "_pseudonym": pl.String}))
    looked = pairs.join(known, on=["organization", "_raw"], how="left")
    missing = looked.filter(pl.col("_pseudonym").is_null())
    if missing.height == 0:
        return looked
    hashed = missing.with_columns(
        pl.Series(
            "_pseudonym",
            pseudonymise_many(key, missing["organization"].to_list(), missing["_raw"].to_list()),
            dtype=pl.String,
        )
    )
    if known.height < _CACHE_LIMIT:
        _cache[key] = pl.concat([known, hashed])
    return pl.concat([looked.filter(pl.col("_pseudonym").is_not_null()), hashed])


def pseudonymise_columns(frame: pl.DataFrame, columns: list[str], key: bytes) -> pl.DataFrame:
    """Replace identifier columns by keyed hashes, scoped per organisation (the same number at two
    organisations is two people). Employee and evaluator ids share one namespace, so a manager's own
    evaluation links to the evaluations she gives."""
    if not columns or frame.height == 0:
        return frame
    pairs = (
        pl.concat([frame.select(pl.col("organization"), pl.col(c).alias("_raw")) for c in columns])
        .drop_nulls()
        .unique()
        .cast(_PAIR_SCHEMA)  # type: ignore[arg-type]
    )
    hashed = _pseudonyms_of(key, pairs)
    organizations = frame.get_column("organization").unique()
    if organizations.len() == 1 and organizations[0] is not None:
        # One organisation per file (ingest enforces it): each column joins on the id alone.
        lookup = hashed.select("_raw", "_pseudonym")
        for column in columns:
            frame = (
                frame.join(lookup.rename({"_raw": column}), on=column, how="left", maintain_order="left")
                .with_columns(pl.col("_pseudonym").alias(column))
                .drop("_pseudonym")
            )
        return frame
    for column in columns:
        frame = (
            frame.join(
                hashed.rename({"_raw": column}),
                on=["organization", column],
                how="left",
                maintain_order="left",
            )
            .drop(column)
            .rename({"_pseudonym": column})
        )
    return frame
