"""The soft evidence of every tube as plain columns (schema v4): what query terms read, nothing else.

A descriptive query ("white van coming towards the camera") scores every tube of its scope. Before v4 each
term read its numbers from `attributes_json` (the whole JSON blob parsed for every candidate) and from the
per-sample boxes (every box of every candidate, for the box-size trend and shape). Now those numbers are
computed once, when a tube is written (and by the v3 → v4 migration for older rows), into narrow columns:

- `<part>_<colour>` for each colour part (`colours`, `upper_colours`, `lower_colours`, `head_colours`) and
  palette colour: the part's share of that colour (0 where absent), one float column each, so a term reads
  only the colours it asks for; `<part>_n_listed`: how many colours the part lists (`colours`, ...: the
  colours at or above the listing threshold), which tells a measured part;
- `<tone part>_fr` (`colours_tones`, `upper_tones`, `lower_tones`, `head_tones`): a list of the shares of the
  tone bins a shade reads, in `TONE_KEYS` order (dark / light of each colour, black / white leaning to each
  hue); only shade words read them;
- `tones_measured`: the tube was indexed with tones and head colours (before, its head colours and tones
  are null: "not measurable", not "absent");
- `models_<key>`: the attribute-model and fused vehicle-type probabilities the vocabulary reads
  (`MODEL_KEYS`; null where not measured), and `models_vehicle_type` (the fused type's name);
- `box_growth` (log of the last over the first samples' mean box height; bigger = closer to the camera;
  null under 4 samples) and `box_aspect` (median box height / width).

Values are the stored JSON numbers as float64 (no rounding), so a query scores the same from the columns as
it did from the JSON. `attributes_json` stays the full record (`vsearch show`, export).

One function, `soft_table`, computes every column from a table's `attributes_json`, `boxes_xyxy` and
`n_samples`: the store's writer, the migration and the benchmark's generator all call it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from vsearch.indexers.colours import CASTS, PALETTE, tone_key

COLOUR_PARTS = ("colours", "upper_colours", "lower_colours", "head_colours")
TONE_PARTS = ("colours_tones", "upper_tones", "lower_tones", "head_tones")
# the tone bins a shade term reads: "blue:dark", "blue:light", ... then "black~blue", "white~blue", ...
TONE_KEYS = tuple(tone_key(c, t) for c in PALETTE for t in ("dark", "light")) + tuple(
    tone_key(a, cast) for a in ("black", "white") for cast in CASTS[1:])
# `models.<key>` probabilities the query vocabulary reads (items, fused vehicle type). Deliberately not every
# model output: the person-attribute model's sex and hair outputs are never given a column (docs/legal.md).
MODEL_KEYS = ("has_bag", "coco_handbag", "has_backpack", "coco_backpack", "has_hat", "has_coat_jacket",
              "has_longsleeves", "has_longpants", "has_suitcase", "has_umbrella", "has_pushchair",
              "vehicle_type_p", "vehicle_type_p_car", "vehicle_type_p_van", "vehicle_type_p_bus",
              "vehicle_type_p_truck")
MODEL_TEXT_KEYS = ("vehicle_type",)
GROWTH_MIN_SAMPLES = 4  # fewer samples: no size trend (box_growth null)

_F64 = pa.float64()
LISTED_PARTS = COLOUR_PARTS[:3]  # parts with a list column of their colours (`colours`, ...)
SOFT_SCHEMA = pa.schema(
    [pa.field(f"{key}_{c}", _F64) for key in COLOUR_PARTS for c in PALETTE]
    + [pa.field(f"{key}_n_listed", pa.int8()) for key in LISTED_PARTS]
    # a list (not a fixed_size_list: LanceDB would take that for an embedding column), len(TONE_KEYS) values
    + [pa.field(f"{key}_fr", pa.list_(_F64)) for key in TONE_PARTS]
    + [pa.field("tones_measured", pa.bool_())]
    + [pa.field(f"models_{k}", _F64) for k in MODEL_KEYS]
    + [pa.field(f"models_{k}", pa.string()) for k in MODEL_TEXT_KEYS]
    + [pa.field("box_growth", _F64), pa.field("box_aspect", _F64)])
# never null once computed: rows the v3 → v4 migration has not rewritten yet have it null
DONE_MARKER = "tones_measured"


def list_value(col: pa.Array, pos: int) -> np.ndarray:
    """Value `pos` of every row of a `<tone part>_fr` list column as float64, NaN where the row is null."""
    offsets = col.offsets.to_numpy()  # absolute positions in `values` (a slice's offset included)
    ok = pc.is_valid(col).to_numpy(zero_copy_only=False) & (np.diff(offsets) > pos)
    out = np.full(len(col), np.nan)
    if ok.any():
        out[ok] = col.values.to_numpy(zero_copy_only=False)[offsets[:-1][ok] + pos]
    return out


def column_of(key: str, sub: str) -> tuple[str, int | None]:
    """The store column holding `attributes[key][sub]` (and its position, for a tone list). Raises KeyError for
    evidence no column holds: a term must never read it as zeros (add it here, with a migration)."""
    if key in COLOUR_PARTS and sub in PALETTE:
        return f"{key}_{sub}", None
    if key in TONE_PARTS and sub in TONE_KEYS:
        return f"{key}_fr", TONE_KEYS.index(sub)
    if key == "models" and (sub in MODEL_KEYS or sub in MODEL_TEXT_KEYS):
        return f"models_{sub}", None
    raise KeyError(f"no soft-evidence column holds {key}.{sub} (see vsearch.catalogue.soft_columns)")


def presence_column(key: str) -> str | None:
    """The bool column saying `attributes[key]` was stored, for keys that may be absent (head colours and
    tones); None for keys every tube has."""
    if key in TONE_PARTS or key == "head_colours":
        return "tones_measured"
    if key in COLOUR_PARTS or key == "models":
        return None
    raise KeyError(f"no soft-evidence column holds {key} (see vsearch.catalogue.soft_columns)")


def listed_count_column(key: str) -> str:
    """The column counting the colours listed for a part (`colours`, `upper_colours`, `lower_colours`)."""
    if key not in LISTED_PARTS:
        raise KeyError(f"{key} has no list of colours")
    return f"{key}_n_listed"


def soft_table(table: pa.Table) -> pa.Table:
    """The `SOFT_SCHEMA` columns of every row of `table` (rows in the store's tube row schema: it reads
    `attributes_json`, the colour lists, `boxes_xyxy`, `n_samples`), computed vectorised: the JSON parsed in
    C++ (absent keys are null), the box statistics with one sort over all samples."""
    attrs = _parsed(table.column("attributes_json"))
    out: dict[str, pa.Array] = {}
    for key in COLOUR_PARTS:
        struct = attrs.column(key).combine_chunks()
        absent = pc.is_null(struct)
        for c in PALETTE:  # an absent colour is 0; an absent part (head before v2 palettes) is null
            out[f"{key}_{c}"] = pc.if_else(absent, pa.scalar(None, _F64), pc.fill_null(pc.struct_field(struct, c), 0.0))
    for key in LISTED_PARTS:
        out[f"{key}_n_listed"] = pc.fill_null(pc.list_value_length(table.column(key)), 0).cast(pa.int8())
    n = table.num_rows
    for key in TONE_PARTS:
        struct = attrs.column(key).combine_chunks()
        present = pc.is_valid(struct).to_numpy(zero_copy_only=False)
        values = np.zeros((n, len(TONE_KEYS)))
        for j, name in enumerate(TONE_KEYS):
            values[:, j] = pc.fill_null(pc.struct_field(struct, name), 0.0).to_numpy(zero_copy_only=False)
        offsets = np.concatenate([[0], np.cumsum(np.where(present, len(TONE_KEYS), 0))])  # null rows: no values
        out[f"{key}_fr"] = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values[present].ravel(), _F64),
                                                    mask=pa.array(~present))
    out["tones_measured"] = pc.fill_null(attrs.column("tones_measured").combine_chunks(), False)
    models = attrs.column("models").combine_chunks()
    for k in MODEL_KEYS + MODEL_TEXT_KEYS:
        out[f"models_{k}"] = pc.struct_field(models, k)
    sizes = box_sizes(table)
    out["box_growth"] = pa.array(box_growth(sizes), _F64, from_pandas=True)  # NaN -> null
    out["box_aspect"] = pa.array(box_aspect(sizes), _F64, from_pandas=True)
    return pa.table(out, schema=SOFT_SCHEMA)


def _parsed(col: pa.ChunkedArray) -> pa.Table:
    """`attributes_json` parsed into the keys the soft columns hold (absent keys and rows without JSON: null)."""
    names = {key: PALETTE for key in COLOUR_PARTS} | {key: TONE_KEYS for key in TONE_PARTS}
    schema = pa.schema(
        [pa.field(k, pa.struct([pa.field(s, _F64) for s in subs])) for k, subs in names.items()]
        + [pa.field("tones_measured", pa.bool_())]
        + [pa.field("models", pa.struct([pa.field(s, _F64) for s in MODEL_KEYS]
                                        + [pa.field(s, pa.string()) for s in MODEL_TEXT_KEYS]))])
    if len(col) == 0:
        return schema.empty_table()
    col = pc.fill_null(col.combine_chunks(), "{}")
    col = pc.if_else(pc.equal(col, ""), "{}", col)
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(col)], pa.int32()), col), "\n")[0].as_buffer()
    opts = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore",
                                newlines_in_values=False)
    block = max(1 << 20, min(len(text) + 1, 1 << 28))
    parsed = pa_json.read_json(pa.BufferReader(text), read_options=pa_json.ReadOptions(block_size=block),
                               parse_options=opts)
    return parsed.select(schema.names)


BoxSizes = tuple[np.ndarray, np.ndarray, np.ndarray]


def box_sizes(table: pa.Table) -> BoxSizes:
    """(every box's width and height as an (N, 2) float32 array, first box index of each tube, samples per
    tube) of a table with `boxes_xyxy` and `n_samples`."""
    flat = table.column("boxes_xyxy").combine_chunks()
    values = flat.values.to_numpy(zero_copy_only=False).reshape(-1, 4)  # float32 as stored
    wh = values[:, 2:] - values[:, :2]
    return wh, flat.offsets.to_numpy()[:-1] // 4, table.column("n_samples").to_numpy(zero_copy_only=False)


def box_aspect(sizes: BoxSizes) -> np.ndarray:
    """Median box height / width of each tube (NaN without samples), vectorised over all tubes: sorting the
    ratios by (tube, ratio) puts each tube's median at a known offset."""
    wh, starts, n = sizes
    out = np.full(len(n), np.nan)
    if not len(wh):
        return out
    ratio = wh[:, 1] / np.maximum(wh[:, 0], np.float32(1e-6))
    owner = np.repeat(np.arange(len(n)), n)
    ordered = ratio[np.lexsort((ratio, owner))]
    has = n > 0
    lo, hi = starts + (n - 1) // 2, starts + n // 2
    out[has] = 0.5 * (ordered[lo[has]].astype(np.float64) + ordered[hi[has]])
    return out


def box_growth(sizes: BoxSizes) -> np.ndarray:
    """log(end height / start height) of each tube's box (mean of its first and last min(3, n // 2) samples);
    NaN under GROWTH_MIN_SAMPLES samples. Vectorised over all tubes; each tube's sums are its own (no running
    sum across tubes), so a tube's value does not depend on the rows written or migrated with it."""
    wh, starts, n = sizes
    out = np.full(len(n), np.nan)
    ok = n >= GROWTH_MIN_SAMPLES
    if not ok.any():
        return out
    h = wh[:, 1].astype(np.float64)
    s, k = starts[ok], n[ok]
    m = np.minimum(3, k // 2)
    first, last = np.zeros(len(s)), np.zeros(len(s))
    for j in range(3):
        use = j < m
        first += np.where(use, h[s + np.minimum(j, m - 1)], 0.0)
        last += np.where(use, h[s + k - 1 - np.minimum(j, m - 1)], 0.0)
    first, last = first / m, last / m
    good = (first > 0) & (last > 0)
    val = np.full(len(s), np.nan)
    val[good] = np.log(last[good] / first[good])
    out[ok] = val
    return out
