"""Ground truth for page 1 of the reports (the summary), from the raw sample CSV files without vu_lib's model.

Run from the project root::

    .venv/bin/python tests/ground_truth/compute_summary.py

For AN-VB, AN-OMR-NV and the Leanlink overview at delår 2026-08 and 2026-10 it
works out, with plain pandas on the CSV files that ``vu_lib.sample.write_sample``
writes and plain PyYAML on ``params/`` (the helpers of ``compute.py``):

* the result to date: ersättning + medel + övriga intäkter − kostnad of the VU's ID
  rows, January to the delår (for Leanlink: the sum over the nine VU);
* the one prognosis: the method ``prognos`` in ``params/registry.yaml`` names for
  the VU (the registry default, or the VU's own), worked out as model.md states it:
  - fjolårsprofil: each of ersättning, övriga intäkter and kostnad is X_ack / s with
    s = (last year's months 1..m) / (last year's full year); a component whose share
    cannot be formed is 0 when nothing was booked this year, else X_ack × 12 / m;
    changes of funds are taken as received to date;
  - årstakt: F + rörlig_ack × 12/m + medel_ack + (övriga intäkter − kostnad)_ack × 12/m;
  for Leanlink the sum of the nine VU's prognoses;
* the largest cause of the result, the largest effect on the result pulling the way
  the result went, among:
  - AN-VB (Vårdboende): per cluster −(K_c − F_ytd × q_b,c / Σ q_b), K_c the cluster's cost
    (accounts 4000-7999 of its units), q_b the budgeted belagda dygn, F_ytd the fixed
    twelfths paid to date; and the VU's övriga intäkter and changes of funds;
  - AN-OMR-NV (price annex): per cluster −(K_c − F_c − q_a,c R_c), F_c = F_ytd × q_b,c R_c /
    Σ q_b R (the fixed part allocated by budgeted hourly compensation), q_a Leanlink's
    performed hours, R the area's rate; and övriga intäkter and changes of funds;
  - Leanlink: each VU's result to date.

Writes ``expected_summary.json`` beside this file.
"""
from __future__ import annotations

import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compute as gt  # noqa: E402  (the helpers: YAML params, CSV reading, ledger sums)

D = gt.D
PERIODS = ("2026-08", "2026-10")
NINE = [v["id"] for v in gt.REG["verksamhetsuppdrag"]]


def months(y: int, m: int) -> list[str]:
    return [f"{y}-{k:02d}" for k in range(1, m + 1)]


def vu_entry(vu: str) -> dict:
    return next(v for v in gt.REG["verksamhetsuppdrag"] if v["id"] == vu)


def method(vu: str) -> str:
    own = vu_entry(vu).get("prognos")
    return (own or gt.REG["prognos"])["metod"]


def prognosis(hb, vu: str, m: int) -> Decimal:
    now = gt.ledger_sums(hb, vu, months(2026, m))
    if method(vu) == "profil":
        part = gt.ledger_sums(hb, vu, months(2025, m))
        full = gt.ledger_sums(hb, vu, months(2025, 12))
        fc = {}
        for c in ("ersattning", "ovrig_intakt", "kostnad"):
            if full[c] != 0 and part[c] != 0:
                fc[c] = now[c] * full[c] / part[c]
            else:
                fc[c] = Decimal(0) if now[c] == 0 else now[c] * 12 / m
        return fc["ersattning"] + now["medel"] + fc["ovrig_intakt"] - fc["kostnad"]
    # årstakt; the VU that use it here have a fixed compensation only and no revision in 2026
    entry = vu_entry(vu)
    assert entry["ersattning"]["form"] == "fast", vu
    F, jan = gt.fixed(vu, 2026)
    assert F == jan, vu
    return D(F) + now["medel"] + (now["ovrig_intakt"] - now["kostnad"]) * 12 / m


def cluster_cost(hb, vu: str, kluster: str, ms: list[str]) -> Decimal:
    ids = {e["id_kod"] for e in vu_entry(vu)["enheter"] if e["kluster"] == kluster}
    r = hb[(hb["kodtyp"] == "ID") & hb["kod"].isin(ids) & hb["period"].isin(ms)]
    konto = r["konto"].astype(int)
    return sum(r.loc[(konto >= 4000) & (konto <= 7999), "b"], Decimal(0))


def kluster_namn(vu: str, k: str) -> str:
    return next(x["namn"] for x in vu_entry(vu)["kluster"] if x["id"] == k)


def causes(hb, vol, vu: str, m: int) -> list[tuple[str, Decimal]]:
    ms = months(2026, m)
    F, _ = gt.fixed(vu, 2026)
    f_ytd = D(sum(gt.twelfths(F, 12)[:m]))
    out = []
    if vu == "AN-VB":
        qb = {k: sum((gt.hours(vol, vu, k, p, "", "budget_belagda_dygn") for p in ms), Decimal(0))
              for k in ("somatik", "demens", "korttid")}
        tot = sum(qb.values())
        for k, q in qb.items():
            out.append((kluster_namn(vu, k), -(cluster_cost(hb, vu, k, ms) - f_ytd * q / tot)))
    elif vu == "AN-OMR-NV":
        R = {s: gt.rate(1, s, 2026) for s in ("hemtjanst", "hemsjukvard", "hemrehabilitering")}
        qb = {s: sum((gt.hours(vol, vu, s, p, "", "budget_timmar") for p in ms), Decimal(0)) for s in R}
        qa = {s: sum((gt.hours(vol, vu, s, p, "leanlink") for p in ms), Decimal(0)) for s in R}
        hourly = {s: qb[s] * R[s] for s in R}
        tot = sum(hourly.values())
        for s in R:
            f_c = f_ytd * hourly[s] / tot
            out.append((kluster_namn(vu, s), -(cluster_cost(hb, vu, s, ms) - f_c - qa[s] * R[s])))
    led = gt.ledger_sums(hb, vu, ms)
    if round(led["ovrig_intakt"]):
        out.append(("Övriga intäkter", led["ovrig_intakt"]))
    if round(led["medel"]):
        out.append(("Förändring av medel", led["medel"]))
    return out


def largest(cands: list[tuple[str, Decimal]], result: Decimal) -> tuple[str, Decimal]:
    same = [c for c in cands if (c[1] < 0) == (result < 0) and abs(c[1]) >= 1]
    return max(same or cands, key=lambda c: abs(c[1]))


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        raw = gt.read_sample(Path(d))
    hb, vol = raw["huvudbok"], raw["volymer"]
    out: dict = {}
    for period in PERIODS:
        m = int(period[5:])
        ms = months(2026, m)
        res = {v: gt.ledger_sums(hb, v, ms)["resultat"] for v in NINE}
        prog = {v: prognosis(hb, v, m) for v in NINE}
        entry = {}
        for vu in ("AN-VB", "AN-OMR-NV"):
            name, amount = largest(causes(hb, vol, vu, m), res[vu])
            entry[vu] = {"resultat": str(gt.ore(res[vu])), "prognos": str(gt.ore(prog[vu])), "metod": method(vu),
                         "orsak": name, "orsak_belopp": str(gt.ore(amount))}
        net = sum(res.values(), Decimal(0))
        name = next(v["namn"] for v in gt.REG["verksamhetsuppdrag"]
                    if v["id"] == largest([(v, res[v]) for v in NINE], net)[0])
        entry["Leanlink"] = {"resultat": str(gt.ore(net)), "prognos": str(gt.ore(sum(prog.values(), Decimal(0)))),
                             "orsak": name, "orsak_belopp": str(gt.ore(min(res.values()) if net < 0 else max(res.values())))}
        out[period] = entry
    path = HERE / "expected_summary.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"skrev {path}")


if __name__ == "__main__":
    main()
