"""Ground truth for the back tests, worked out from the raw sample CSV files without vu_lib's model.

Run from the project root::

    .venv/bin/python tests/ground_truth/compute.py

It writes the embedded sample's export files to a temporary directory
(``vu_lib.sample.write_sample``, the same bytes every run), reads them with
plain pandas (``;``, decimal comma, cp1252 / UTF-8 with BOM), reads the
parameter YAML files with plain PyYAML, and writes ``expected_2026-08.json``
beside this file. Nothing of vu_lib's model (compensation, transfers,
results, nyckeltal) is used: the arithmetic is written out below and
explained in README.md. Money is computed in Decimal; rounding is half away
from zero as the model document prescribes.
"""
from __future__ import annotations

import json
import sys
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PERIOD = "2026-08"
YEAR, MONTH = 2026, 8
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, MONTH + 1)]


def D(x) -> Decimal:
    return Decimal(str(x))


def kr(x: Decimal) -> int:
    return int(D(x).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ore(x: Decimal) -> Decimal:
    return D(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def dec(s: str) -> Decimal:
    return Decimal(s.replace("\u2212", "-").replace("\u00a0", "").replace(" ", "").replace(",", "."))


# --------------------------------------------------------------------------- params by hand
def load_yaml(p: Path) -> dict:
    return yaml.safe_load(p.read_text(encoding="utf-8"))


REG = load_yaml(ROOT / "params" / "registry.yaml")
YEARS = {y: load_yaml(ROOT / "params" / "modell" / f"{y}.yaml") for y in range(2023, 2027)}


def index(y: int) -> Decimal:
    ix = YEARS[y]["index"]
    if "ks_index" in ix:
        return D(ix["ks_index"])
    w = D(ix["vikt_lon"])
    return w * D(ix["lon"]) + (1 - w) * D(ix["pris"])


def fixed(vu: str, y: int) -> tuple[int, int]:
    """(F including revisions, F as decided in January) of ``vu`` in ``y``: round(F_{y-1}(1+i)) + changes."""
    if y == 2023:
        f = YEARS[2023]["fast_ersattning"][vu]
        return f, f
    base = kr(D(fixed(vu, y - 1)[0]) * (1 + index(y)))
    jan = base
    for c in YEARS[y].get("forandringar", []):
        if c["vu"] == vu:
            amt = (kr(D(c["andel"]) * base) if "andel" in c else c["belopp"])
            jan += -amt if c["typ"] == "effektiviseringskrav" else amt
    total = jan
    for r in YEARS[y].get("revisioner", []):
        for c in r.get("forandringar", []):
            if c["vu"] == vu:
                total += c["belopp"]
    return total, jan


def twelfths(total: int, months: int) -> list[int]:
    return [kr(D(total) * k / months) - kr(D(total) * (k - 1) / months) for k in range(1, months + 1)]


def rate(area_or_service, service: str, y: int) -> Decimal:
    """January rate of a price-annex service (area 1-3) or another variable service, indexed in öre."""
    if y == 2023:
        if isinstance(area_or_service, int):
            return D(YEARS[2023]["prisbilagor"][area_or_service][service])
        return D(YEARS[2023]["rorliga_priser"][service]["pris"])
    prev = rate(area_or_service, service, y - 1)
    # a revision's rate in y-1 is the one indexed into y (none before 2026 in these params)
    for r in YEARS[y - 1].get("revisioner", []):
        if isinstance(area_or_service, int) and service in r.get("prisbilagor", {}).get(area_or_service, {}):
            prev = D(r["prisbilagor"][area_or_service][service])
    return ore(prev * (1 + index(y)))


# --------------------------------------------------------------------------- raw data
def read_sample(d: Path) -> dict[str, pd.DataFrame]:
    sys.path.insert(0, str(ROOT))
    from vu_lib.data.sample import write_sample  # the sample generator only: it writes the export files

    write_sample(d)
    hb = pd.concat([pd.read_csv(d / f"huvudbok_{y}.csv", sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
                    for y in (2025, 2026)], ignore_index=True)
    vol = pd.concat([pd.read_csv(d / f"volymer_{y}.csv", sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
                     for y in (2025, 2026)], ignore_index=True)
    hb["b"] = hb["belopp"].map(dec)
    vol["v"] = vol["varde"].map(dec)
    return {"huvudbok": hb, "volymer": vol}


def codes(vu: str, kind: str) -> set[str]:
    for v in REG["verksamhetsuppdrag"] + REG["separata"]:
        if v["id"] == vu:
            return {e["id_kod" if kind == "ID" else "komplement_kod"] for e in v["enheter"]}
    raise KeyError(vu)


def ledger_sums(hb: pd.DataFrame, vu: str, months: list[str]) -> dict[str, Decimal]:
    """Leanlink's ID rows of a VU: revenue accounts 3xxx are credit (negated), costs 4xxx-7xxx debit."""
    r = hb[(hb["kodtyp"] == "ID") & hb["kod"].isin(codes(vu, "ID")) & hb["period"].isin(months)]
    konto = r["konto"].astype(int)
    ers = -sum(r.loc[(konto >= 3800) & (konto <= 3849), "b"], Decimal(0))
    med = -sum(r.loc[(konto >= 3850) & (konto <= 3899), "b"], Decimal(0))
    ovr = -sum(r.loc[((konto >= 3000) & (konto <= 3799)) | ((konto >= 3900) & (konto <= 3999)), "b"], Decimal(0))
    kost = sum(r.loc[(konto >= 4000) & (konto <= 7999), "b"], Decimal(0))
    return {"ersattning": ers, "medel": med, "ovrig_intakt": ovr, "kostnad": kost,
            "resultat": ers + med + ovr - kost}


def booked(hb: pd.DataFrame, vu: str, month: str) -> Decimal:
    """SoF's booked purchase (KOMPLEMENT, accounts 4600-4699, debit) of a VU in a month."""
    r = hb[(hb["kodtyp"] == "KOMPLEMENT") & hb["kod"].isin(codes(vu, "KOMPLEMENT")) & (hb["period"] == month)]
    konto = r["konto"].astype(int)
    return sum(r.loc[(konto >= 4600) & (konto <= 4699), "b"], Decimal(0))


def hours(vol: pd.DataFrame, vu: str, kluster: str, month: str, utforare: str, matt: str = "utforda_timmar") -> Decimal:
    r = vol[(vol["vu"] == vu) & (vol["kluster"] == kluster) & (vol["period"] == month) & (vol["matt"] == matt)
            & (vol["utforare"] == utforare)]
    units = r[r["enhet"] != ""]
    return sum((units if len(units) else r)["v"], Decimal(0))


def tkr(x: Decimal) -> int:
    return kr(D(x) / 1000)


# --------------------------------------------------------------------------- the figures
def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        raw = read_sample(Path(d))
    hb, vol = raw["huvudbok"], raw["volymer"]
    out: dict = {"period": PERIOD}

    # ---- AN-VB: fixed compensation only
    F, _ = fixed("AN-VB", YEAR)
    parts = twelfths(F, 12)
    led = ledger_sums(hb, "AN-VB", MONTHS)
    vol_vb = vol[(vol["vu"] == "AN-VB") & vol["period"].isin(MONTHS)]
    occ = {}
    for k in ("somatik", "demens", "korttid", ""):
        sel = vol_vb if k == "" else vol_vb[vol_vb["kluster"] == k]
        bd = sum(sel.loc[sel["matt"] == "belagda_dygn", "v"], Decimal(0))
        td = sum(sel.loc[sel["matt"] == "tillgangliga_dygn", "v"], Decimal(0))
        bd_m = sum(sel.loc[(sel["matt"] == "belagda_dygn") & (sel["period"] == PERIOD), "v"], Decimal(0))
        td_m = sum(sel.loc[(sel["matt"] == "tillgangliga_dygn") & (sel["period"] == PERIOD), "v"], Decimal(0))
        occ[k or "hela"] = {"manad": str((100 * bd_m / td_m).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
                            "ack": str((100 * bd / td).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))}
    out["AN-VB"] = {
        "fast_ersattning_ar": F,
        "overforing_manad": {m: parts[i] for i, m in enumerate(MONTHS)},
        "overforing_ack": sum(parts[:MONTH]),
        "bokfort_ack": str(sum((booked(hb, "AN-VB", m) for m in MONTHS), Decimal(0))),
        "resultat_tkr": {k: tkr(v) for k, v in led.items()},
        "belaggningsgrad": occ,
    }

    # ---- AN-OMR-NV: price annex area 1, fixed part + hours × rate
    F, _ = fixed("AN-OMR-NV", YEAR)
    parts = twelfths(F, 12)
    rates = {s: rate(1, s, YEAR) for s in ("hemtjanst", "hemsjukvard", "hemrehabilitering")}
    monthly = {}
    for i, m in enumerate(MONTHS):
        var = sum((ore(hours(vol, "AN-OMR-NV", s, m, "leanlink") * rates[s]) for s in rates), Decimal(0))
        monthly[m] = str(D(parts[i]) + var)
    ht = {}
    for utf in ("leanlink", "privat"):
        ht[utf] = {"manad": str(hours(vol, "AN-OMR-NV", "hemtjanst", PERIOD, utf)),
                   "ack": str(sum((hours(vol, "AN-OMR-NV", "hemtjanst", m, utf) for m in MONTHS), Decimal(0)))}
    ht["totalt"] = {k: str(dec(ht["leanlink"][k]) + dec(ht["privat"][k])) for k in ("manad", "ack")}
    ht["budget"] = {"manad": str(hours(vol, "AN-OMR-NV", "hemtjanst", PERIOD, "", "budget_timmar")),
                    "ack": str(sum((hours(vol, "AN-OMR-NV", "hemtjanst", m, "", "budget_timmar") for m in MONTHS),
                                   Decimal(0)))}
    out["AN-OMR-NV"] = {
        "fast_ersattning_ar": F,
        "priser": {s: str(r) for s, r in rates.items()},
        "overforing_manad": monthly,
        "overforing_ack": str(sum((dec(v) for v in monthly.values()), Decimal(0))),
        "bokfort_ack": str(sum((booked(hb, "AN-OMR-NV", m) for m in MONTHS), Decimal(0))),
        "resultat_tkr": {k: tkr(v) for k, v in ledger_sums(hb, "AN-OMR-NV", MONTHS).items()},
        "hemtjanst_timmar": ht,
    }

    # ---- SON overview: result per VU, the nämnd's total and the reconciliation of SON-OPPNA-VUX
    son = [v["id"] for v in REG["verksamhetsuppdrag"] if v["namnd"] == "SON"]
    res = {v: ledger_sums(hb, v, MONTHS) for v in son + ["EKB"]}
    tot = {k: sum((res[v][k] for v in son), Decimal(0)) for k in ("ersattning", "kostnad", "resultat")}
    F, _ = fixed("SON-OPPNA-VUX", YEAR)
    parts = twelfths(F, 12)
    r_vux = rate("boendestod_vux", "boendestod_vux", YEAR)
    diffs = {}
    for i, m in enumerate(MONTHS):
        model = D(parts[i]) + ore(hours(vol, "SON-OPPNA-VUX", "boendestod", m, "leanlink") * r_vux)
        diff = booked(hb, "SON-OPPNA-VUX", m) - model
        if diff != 0:
            diffs[m] = str(diff)
    out["SON"] = {
        "resultat_tkr": {v: tkr(res[v]["resultat"]) for v in son + ["EKB"]},
        "summa_nämnd_tkr": {k: tkr(v) for k, v in tot.items()},
        "boendestod_vux_pris": str(r_vux),
        "avvikelser_SON-OPPNA-VUX": diffs,
    }
    path = HERE / f"expected_{PERIOD}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"skrev {path}")


if __name__ == "__main__":
    main()
