"""Page-access traces: one record per access (``time``, ``obj_id``, ``clen``), in three documented formats.

* **CSV** — header ``time,obj_id,clen`` (``clen``, the compressed length in bytes, optional: default 1024);
  ``time`` is an integer (seconds or any monotonic tick), ``obj_id`` a non-negative integer page id.
* **Parquet** (columnar, compact) — the same three columns (uint32, uint64, uint16).
* **libCacheSim ``oracleGeneral``** — the binary format libCacheSim reads (``TraceType.ORACLE_GENERAL_TRACE``):
  packed little-endian records ``<uint32 clock_time, uint64 obj_id, uint32 obj_size, int64 next_access_vtime>``
  (24 bytes; ``next_access_vtime`` = index of the object's next request, -1 if none). ``obj_size`` carries
  4096 (one page) so a libCacheSim cache of ``N * 4096`` bytes holds N pages; the compressed length is not part
  of the format and is drawn per object (in order of first access) from a seeded generator on read
  (``clen_seed``).

Bad input raises :class:`TraceError` naming the file, line (record) and field.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PAGE_SIZE = 4096
ORACLE_GENERAL = np.dtype([("time", "<u4"), ("obj_id", "<u8"), ("size", "<u4"), ("next", "<i8")])
assert ORACLE_GENERAL.itemsize == 24


class TraceError(ValueError):
    """A malformed trace: the message names the file, the line/record and the field."""


@dataclass
class Trace:
    time: np.ndarray  # uint32
    obj_id: np.ndarray  # uint64
    clen: np.ndarray  # uint16, compressed length of the object's page
    codes: np.ndarray | None = dataclasses.field(default=None, repr=False)  # dense object index per event (first-access order)
    obj_clen: np.ndarray | None = dataclasses.field(default=None, repr=False)  # compressed length per dense object

    def __len__(self) -> int:
        return int(self.obj_id.shape[0])

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """(dense object index per event, compressed length per dense object) — what ``FastKernel.replay`` takes."""
        if self.codes is not None and self.obj_clen is not None:
            return self.codes, self.obj_clen.astype(np.int64)
        codes, nobj = first_access_codes(self.obj_id)
        clens = np.zeros(nobj, np.int64)
        clens[codes[::-1]] = self.clen[::-1]  # first access of each object wins
        return codes, clens

    def next_access(self) -> np.ndarray:
        """``next_access_vtime`` of oracleGeneral: index of the next request to the same object, -1 if none."""
        n = len(self)
        order = np.lexsort((np.arange(n), self.obj_id))
        nxt = np.full(n, -1, np.int64)
        same = self.obj_id[order[1:]] == self.obj_id[order[:-1]]
        nxt[order[:-1][same]] = order[1:][same]
        return nxt


# A direct table (one int64 per possible id) is used while ids are at most this many times the event count
# (plus a floor); beyond that the ids are sparse (e.g. hashes) and a hash factorization is cheaper in memory.
_DIRECT_TABLE_FACTOR = 8
_DIRECT_TABLE_FLOOR = 1 << 22


def first_access_codes(obj_id: np.ndarray, top: int | None = None) -> tuple[np.ndarray, int]:
    """(dense object index per event, number of objects): objects numbered in order of first access.

    Dense-enough ids go through one compiled pass over a direct id → index table (about the cost of reading
    the ids once); sparse ids (hashes) fall back to ``pandas.factorize``. Both give the same numbering.
    ``top``: the largest id, when the caller already knows it."""
    n = int(obj_id.shape[0])
    if n == 0:
        return np.zeros(0, np.int64), 0
    top = int(obj_id.max()) if top is None else top
    if top < _DIRECT_TABLE_FACTOR * n + _DIRECT_TABLE_FLOOR:
        from zswaplab.scale._tracecore import factorize_dense

        codes, nobj = factorize_dense(obj_id, top)
        return codes, int(nobj)
    import pandas as pd

    codes, uniq = pd.factorize(obj_id, sort=False)  # hash-based, order of first access
    return codes.astype(np.int64, copy=False), len(uniq)


def _fail(path: Path, line: int, field: str, msg: str) -> TraceError:
    return TraceError(f"{path}:{line}: field {field!r}: {msg}")


def read_csv(path: str | Path) -> Trace:
    path = Path(path)
    times: list[int] = []
    ids: list[int] = []
    clens: list[int] = []
    with path.open(newline="") as fh:
        rd = csv.reader(fh)
        header = next(rd, None)
        if header is None or [h.strip() for h in header[:2]] != ["time", "obj_id"]:
            raise _fail(path, 1, "header", "expected 'time,obj_id[,clen]'")
        has_clen = len(header) > 2 and header[2].strip() == "clen"
        for lineno, row in enumerate(rd, start=2):
            if not row:
                continue
            vals = []
            for field, raw, lo, hi in (("time", row[0] if row else "", 0, 2**32 - 1),
                                       ("obj_id", row[1] if len(row) > 1 else "", 0, 2**64 - 1),
                                       ("clen", row[2] if has_clen and len(row) > 2 else "1024", 0, PAGE_SIZE)):
                try:
                    v = int(raw.strip())
                except ValueError:
                    raise _fail(path, lineno, field, f"not an integer: {raw!r}") from None
                if not lo <= v <= hi:
                    raise _fail(path, lineno, field, f"{v} out of range [{lo}, {hi}]")
                vals.append(v)
            times.append(vals[0])
            ids.append(vals[1])
            clens.append(vals[2])
    return Trace(np.array(times, np.uint32), np.array(ids, np.uint64), np.array(clens, np.uint16))


def write_csv(tr: Trace, path: str | Path) -> None:
    with Path(path).open("w", newline="") as fh:
        fh.write("time,obj_id,clen\n")
        for t, o, c in zip(tr.time.tolist(), tr.obj_id.tolist(), tr.clen.tolist(), strict=True):
            fh.write(f"{t},{o},{c}\n")


def write_parquet(tr: Trace, path: str | Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"time": tr.time, "obj_id": tr.obj_id, "clen": tr.clen}), str(path))


def read_parquet(path: str | Path) -> Trace:
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        t = pq.read_table(str(path))
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise TraceError(f"{path}:0: field 'file': not a Parquet file ({e})") from None
    cols = {}
    for field, dt in (("time", np.uint32), ("obj_id", np.uint64), ("clen", np.uint16)):
        if field not in t.column_names:
            raise _fail(path, 0, field, "missing column")
        arr = t.column(field).to_numpy()
        if arr.dtype.kind not in "iu":
            raise _fail(path, 0, field, f"expected an integer column, got {arr.dtype}")
        bad = np.flatnonzero((arr < 0) | (arr > (PAGE_SIZE if field == "clen" else np.iinfo(dt).max)))
        if bad.size:
            raise _fail(path, int(bad[0]) + 1, field, f"{arr[bad[0]]} out of range")
        cols[field] = arr.astype(dt)
    return Trace(cols["time"], cols["obj_id"], cols["clen"])


def write_oracle_general(tr: Trace, path: str | Path) -> None:
    rec = np.zeros(len(tr), ORACLE_GENERAL)
    rec["time"] = tr.time
    rec["obj_id"] = tr.obj_id
    rec["size"] = PAGE_SIZE
    rec["next"] = tr.next_access()
    rec.tofile(str(path))


def read_oracle_general(path: str | Path, clen_seed: int = 0, clen_mean: float = 0.35,
                        clen_std: float = 0.08) -> Trace:
    """Read an oracleGeneral file; per-object compressed lengths ~ Normal(mean, std) × PAGE_SIZE (seeded)."""
    path = Path(path)
    size = path.stat().st_size
    if size % ORACLE_GENERAL.itemsize:
        raise _fail(path, size // ORACLE_GENERAL.itemsize + 1, "record",
                    f"file size {size} is not a multiple of {ORACLE_GENERAL.itemsize}")
    from zswaplab.scale._tracecore import split_records

    rec = np.fromfile(str(path), ORACLE_GENERAL)
    obj_id = np.empty(rec.shape[0], np.uint64)
    time_ = np.empty(rec.shape[0], np.uint32)
    top, bad = split_records(rec["obj_id"], rec["size"], rec["time"], obj_id, time_)  # one pass, then rec is freed
    if bad >= 0:
        raise _fail(path, int(bad) + 1, "obj_size", "zero object size")
    del rec
    inv, nobj = first_access_codes(obj_id, int(top))  # objects numbered in order of first access
    rng = np.random.default_rng(clen_seed)
    per_obj = np.clip(rng.normal(clen_mean, clen_std, nobj) * PAGE_SIZE, 1, PAGE_SIZE).astype(np.uint16)
    return Trace(time_, obj_id, per_obj[inv], codes=inv, obj_clen=per_obj)


def write_trace(tr: Trace, path: str | Path) -> None:
    """Write a trace by extension: ``.csv``, ``.parquet``, ``.oracleGeneral`` / ``.bin``."""
    p = Path(path)
    if p.suffix == ".csv":
        write_csv(tr, p)
    elif p.suffix == ".parquet":
        write_parquet(tr, p)
    elif p.suffix in (".oracleGeneral", ".bin"):
        write_oracle_general(tr, p)
    else:
        raise TraceError(f"{p}:0: field 'file': unknown trace extension {p.suffix!r} "
                         "(.csv, .parquet, .oracleGeneral)")


def read_trace(path: str | Path) -> Trace:
    """Read a trace by extension: ``.csv``, ``.parquet``, ``.oracleGeneral`` / ``.bin``."""
    p = Path(path)
    if p.suffix == ".csv":
        return read_csv(p)
    if p.suffix == ".parquet":
        return read_parquet(p)
    if p.suffix in (".oracleGeneral", ".bin"):
        return read_oracle_general(p)
    raise TraceError(f"{p}:0: field 'file': unknown trace extension {p.suffix!r} (.csv, .parquet, .oracleGeneral)")
