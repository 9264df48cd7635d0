"""The Kolada client, params/kolada.yaml and snapshots, against a local server replaying API v3 answers.

No test touches the network: the server listens on 127.0.0.1 (tests/kolada_replay.py);
the offline case uses the reserved top-level domain ``.invalid``, which never resolves.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from conftest import EXPORTS, TODAY
from kolada_replay import Answer, ReplayServer
from vu_lib.data import kolada as K
from vu_lib.core.exceptions import ParamsError

YEARS = [2024, 2025]
Q = "per_page=5000"


def kp_for(base: str, **klient) -> K.KoladaParams:
    """Two comparisons: a cost KPI (N00001) and a survey KPI with a gender split (N00002)."""
    return K.KoladaParams.model_validate({
        "version": 1,
        "klient": {"bas_url": base, "timeout_s": 2, "forsok": 3, "vantetid_s": 0.5, "max_vantetid_s": 30, **klient},
        "kommun": {"id": "0580", "namn": "Linköping"},
        "riket": {"id": "0000", "namn": "Riket"},
        "jamforelsegrupp": {"id": "G1", "namn": "Liknande kommuner"},
        "jamforelser": [
            {"id": "kostnad", "kpi": "N00001", "namn": "Kostnad", "vu": ["AN-VB"], "enhet": "kr/dygn"},
            {"id": "nojdhet", "kpi": "N00002", "namn": "Nöjdhet", "vu": ["AN-VB"], "enhet": "procent", "kon": True},
        ],
    })


def rec(kpi, area, year, value, gender=False, count=1):
    vals = [{"count": count, "gender": "T", "status": "", "value": value}]
    if gender:
        vals += [{"count": count, "gender": "K", "status": "", "value": value + 2},
                 {"count": count, "gender": "M", "status": "", "value": value - 3}]
    return {"kpi": kpi, "municipality": area, "period": year, "values": vals}


KPI_META = {"count": 2, "values": [
    {"id": "N00001", "title": "Kostnad per dygn", "description": "d", "is_divided_by_gender": 0},
    {"id": "N00002", "title": "Nöjdhet", "description": "d", "is_divided_by_gender": 1}]}
GROUP = {"count": 1, "values": [{"id": "G1", "title": "Liknande kommuner", "members": [{"id": "0580", "title": "Linköping"}]}]}
DATA_PATH = "data/kpi/N00001,N00002/municipality/0580,G1,0000/year/2024,2025"


def serve_meta(server):
    server.route(f"kpi/N00001,N00002?{Q}", KPI_META)
    server.route(f"municipality_groups/G1?{Q}", GROUP)


def page1(server):
    return {"count": 3, "values": [rec("N00001", "0580", 2024, 2400.5), rec("N00001", "G1", 2024, 2300, count=7),
                                   rec("N00001", "0000", 2024, 2250)],
            "next_url": f"{server.base}/{DATA_PATH}?page=2&{Q}"}


PAGE2 = {"count": 2, "values": [rec("N00002", "0580", 2025, 80, gender=True), rec("N00001", "0580", 2025, 2510)]}


class Sleeps(list):
    def __call__(self, s):
        self.append(s)


@pytest.fixture
def server():
    with ReplayServer() as s:
        yield s


@pytest.fixture
def store(tmp_path):
    """A store holding the export fixtures (so a snapshot may be loaded into it)."""
    from vu_lib.data.store import ingest_files

    path = tmp_path / "vu.duckdb"
    ingest_files(sorted(EXPORTS.glob("*_2026.csv")) + [EXPORTS / "medel.csv"], path, today=TODAY)
    return path


def client(server, kp=None, **kw):
    sleeps = Sleeps()
    return K.KoladaClient.from_params(kp or kp_for(server.base), sleep=sleeps, **kw), sleeps


def state(store, directory):
    """What must not change on a failed fetch: the files and the store's active snapshot."""
    from vu_lib.data.store import connect, store_fingerprint

    with connect(store) as con:
        active = K.read_kolada(con)
    files = sorted((p.name, p.read_bytes()) for p in Path(directory).glob("*")) if Path(directory).exists() else []
    return files, active.hamtad, active.varden.to_dict("list"), store_fingerprint(store)


def fetch_ok(server, store, directory, now="2026-11-01T08:00:00+00:00"):
    """A good fetch, to have a previous snapshot in place."""
    import datetime as dt

    serve_meta(server)
    server.route(f"{DATA_PATH}?{Q}", page1(server))
    server.route(f"{DATA_PATH}?page=2&{Q}", PAGE2)
    c, _ = client(server)
    return K.update(kp_for(server.base), c, YEARS, store, directory, now=dt.datetime.fromisoformat(now))


# --------------------------------------------------------------------------- good answers
def test_paginated_answer_is_followed_to_the_end_and_stored_as_received(server, store, tmp_path):
    path, load = fetch_ok(server, store, tmp_path / "kolada")
    snap = json.loads(path.read_text(encoding="utf-8"))
    # both pages, exactly as the server sent them, with the query and the time
    assert [p["json"] for p in snap["svar"]["data"]] == [page1(server), PAGE2]
    assert snap["hamtad"] == "2026-11-01T08:00:00Z" and snap["fraga"]["ar"] == YEARS
    assert path.name == "kolada-20261101T080000Z.json"
    assert snap["exempel"] is False and snap["kalla"] == "Källa: Kolada (RKA), CC BY 4.0"
    # the requests: meta, group, page 1, page 2 and no more
    assert server.log[-2:] == [f"/v3/{DATA_PATH}?{Q}", f"/v3/{DATA_PATH}?page=2&{Q}"]
    assert load is not None and not load.unchanged
    from vu_lib.data.store import connect

    with connect(store) as con:
        kd = K.read_kolada(con)
    # counted by hand: page 1 has three records of one value (T); page 2 has N00002 with
    # T, K and M (3) and N00001 with T (1): 3 + 3 + 1 = 7
    assert len(kd.varden) == 7
    assert kd.hamtad == "2026-11-01T08:00:00Z"
    g = kd.varden[(kd.varden["kpi"] == "N00001") & (kd.varden["omrade"] == "G1")].iloc[0]
    assert (g["varde"], g["antal"]) == (2300.0, 7.0)


def test_gender_split_is_kept_per_gender(server, store, tmp_path):
    fetch_ok(server, store, tmp_path / "kolada")
    from vu_lib.data.store import connect

    with connect(store) as con:
        kd = K.read_kolada(con)
    n2 = kd.varden[kd.varden["kpi"] == "N00002"].set_index("kon")["varde"].to_dict()
    assert n2 == {"T": 80.0, "K": 82.0, "M": 77.0}
    assert kd.kpi.set_index("id")["kon_uppdelad"].to_dict() == {"N00001": False, "N00002": True}


def test_a_new_snapshot_replaces_the_previous_and_changes_the_fingerprint(server, store, tmp_path):
    from vu_lib.data.store import store_fingerprint

    before = store_fingerprint(store)
    fetch_ok(server, store, tmp_path / "kolada")
    first = store_fingerprint(store)
    server.routes.clear()
    fetch_ok(server, store, tmp_path / "kolada", now="2026-11-02T08:00:00+00:00")
    second = store_fingerprint(store)
    assert len({before, first, second}) == 3
    assert len(list((tmp_path / "kolada").glob("kolada-*.json"))) == 2  # versioned: both kept
    from vu_lib.data import load_dataset

    ds = load_dataset(store)
    assert ds.kolada.hamtad == "2026-11-02T08:00:00Z"
    assert not ds.ledger.empty  # a Kolada load does not hide the exports


# --------------------------------------------------------------------------- failures keep the previous snapshot
def failing(server, store, tmp_path, setup, match, **kw):
    directory = tmp_path / "kolada"
    fetch_ok(server, store, directory)
    before = state(store, directory)
    server.routes.clear()
    serve_meta(server)
    setup(server)
    c, sleeps = client(server, kp_for(server.base, **kw))
    with pytest.raises(K.KoladaError, match=match) as err:
        K.update(kp_for(server.base, **kw), c, YEARS, store, directory)
    assert state(store, directory) == before
    return err.value, sleeps


def test_empty_result_is_refused(server, store, tmp_path):
    err, _ = failing(server, store, tmp_path, lambda s: s.route(f"{DATA_PATH}?{Q}", {"count": 0, "values": []}),
                     "utan värden")
    assert "N00001, N00002" in str(err) and "2024–2025" in str(err)


def test_retired_kpi_id_is_named_with_where_it_is_configured(server, store, tmp_path):
    def setup(s):
        s.route(f"kpi/N00001,N00002?{Q}", {"count": 1, "values": [KPI_META["values"][1]]})

    err, _ = failing(server, store, tmp_path, setup, "N00001")
    text = str(err)
    assert "känner inte till KPI-id N00001" in text and "jamforelser[0].kpi (kostnad)" in text
    assert "vu kolada kpi" in text
    assert server.log[-1] == f"/v3/kpi/N00001,N00002?{Q}"  # stopped before asking for the data


def test_500_then_success_retries_with_backoff(server, store, tmp_path):
    serve_meta(server)
    server.route(f"{DATA_PATH}?{Q}", Answer({"error": "x"}, status=500), page1(server))
    server.route(f"{DATA_PATH}?page=2&{Q}", PAGE2)
    c, sleeps = client(server)
    path, _ = K.update(kp_for(server.base), c, YEARS, store, tmp_path / "kolada")
    assert sleeps == [0.5]  # vantetid_s × 2**0 before the second attempt
    assert server.log.count(f"/v3/{DATA_PATH}?{Q}") == 2
    assert len(json.loads(path.read_text())["svar"]["data"]) == 2


def test_429_honours_retry_after(server, store, tmp_path):
    serve_meta(server)
    server.route(f"{DATA_PATH}?{Q}", Answer({}, status=429, headers={"Retry-After": "7"}), page1(server))
    server.route(f"{DATA_PATH}?page=2&{Q}", PAGE2)
    c, sleeps = client(server)
    K.update(kp_for(server.base), c, YEARS, store, tmp_path / "kolada")
    assert sleeps == [7.0]


def test_429_retry_after_is_capped(server, store, tmp_path):
    serve_meta(server)
    server.route(f"{DATA_PATH}?{Q}", Answer({}, status=429, headers={"Retry-After": "3600"}), page1(server))
    server.route(f"{DATA_PATH}?page=2&{Q}", PAGE2)
    c, sleeps = client(server)
    K.update(kp_for(server.base), c, YEARS, store, tmp_path / "kolada")
    assert sleeps == [30.0]  # max_vantetid_s


def test_500_every_time_gives_up_after_the_attempts(server, store, tmp_path):
    err, sleeps = failing(server, store, tmp_path,
                          lambda s: s.route(f"{DATA_PATH}?{Q}", Answer({}, status=503)), "efter 3 försök")
    assert sleeps == [0.5, 1.0]  # 0.5 × 2**0, 0.5 × 2**1; no wait after the last attempt
    assert "HTTP 503" in str(err)


def test_timeout(server, store, tmp_path):
    err, sleeps = failing(server, store, tmp_path,
                          lambda s: s.route(f"{DATA_PATH}?{Q}", Answer({"count": 0, "values": []}, delay=1.5)),
                          "inget svar inom 0.3 s", timeout_s=0.3)
    assert len(sleeps) == 2


def test_next_link_loop_is_stopped(server, store, tmp_path):
    def setup(s):
        loop = dict(PAGE2, next_url=f"{s.base}/{DATA_PATH}?{Q}")
        s.route(f"{DATA_PATH}?{Q}", page1(s))
        s.route(f"{DATA_PATH}?page=2&{Q}", loop)

    failing(server, store, tmp_path, setup, "pekar tillbaka på en sida som redan hämtats")


def test_next_link_to_another_host_is_refused(server, store, tmp_path):
    def setup(s):
        s.route(f"{DATA_PATH}?{Q}", dict(page1(s), next_url="http://example.invalid/v3/x"))

    failing(server, store, tmp_path, setup, "annan värd")


def test_malformed_json(server, store, tmp_path):
    err, _ = failing(server, store, tmp_path,
                     lambda s: s.route(f"{DATA_PATH}?{Q}", '{"count": 1, "values": [{"kpi": "N0'), "ogiltig JSON")
    assert DATA_PATH in str(err)


def test_offline_gives_a_clear_swedish_error_at_once(store, tmp_path):
    directory = tmp_path / "kolada"
    sleeps = Sleeps()
    kp = kp_for("http://api.kolada.invalid/v3")
    c = K.KoladaClient.from_params(kp, sleep=sleeps)
    with pytest.raises(K.KoladaError, match="kan inte nås: ingen nätverksanslutning") as err:
        K.update(kp, c, YEARS, store, directory)
    assert "tidigare ögonblicksbilden" in str(err.value)
    assert sleeps == [] and not directory.exists()


def test_v2_next_page_is_followed_too(server):
    serve_meta(server)
    first = dict(page1(server))
    first["next_page"] = first.pop("next_url")
    server.route(f"{DATA_PATH}?{Q}", first)
    server.route(f"{DATA_PATH}?page=2&{Q}", PAGE2)
    c, _ = client(server)
    snap = K.fetch_snapshot(kp_for(server.base), c, YEARS)
    assert len(snap["svar"]["data"]) == 2


def test_kpi_search(server):
    server.route(f"kpi?title=s%C3%A4rskilt+boende&{Q}", {"count": 1, "values": [KPI_META["values"][0]]})
    c, _ = client(server)
    assert [k["id"] for k in c.kpi_search("särskilt boende")] == ["N00001"]


def test_store_without_exports_keeps_the_file_and_says_how_to_load_it(server, tmp_path):
    serve_meta(server)
    server.route(f"{DATA_PATH}?{Q}", page1(server))
    server.route(f"{DATA_PATH}?page=2&{Q}", PAGE2)
    c, _ = client(server)
    path, load = K.update(kp_for(server.base), c, YEARS, tmp_path / "tomt.duckdb", tmp_path / "kolada")
    assert load is None and path.exists() and not (tmp_path / "tomt.duckdb").exists()


# --------------------------------------------------------------------------- params and the example snapshot
def test_project_kolada_params_load(params):
    kp = K.load_kolada_params(params)
    assert kp.kommun.id == "0580" and kp.riket.id == "0000"
    assert all(j.vu for j in kp.jamforelser)


def test_kolada_params_errors_name_file_and_key(params, tmp_path):
    root = tmp_path / "params"
    shutil.copytree(params.root, root)
    text = (root / "kolada.yaml").read_text(encoding="utf-8")
    (root / "kolada.yaml").write_text(text.replace("kpi: U21468", "kpi: U21468\n    kpi_id: X"), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"kolada.yaml:\n  jamforelser.0.kpi_id: okänd nyckel"):
        K.load_kolada_params(root=root)
    (root / "kolada.yaml").write_text(text.replace("nyckeltal: vb_varddygnskostnad", "nyckeltal: finns_inte"),
                                      encoding="utf-8")
    with pytest.raises(ParamsError, match="jamforelser\\[0\\].nyckeltal .*'finns_inte' finns inte i nyckeltal.yaml"):
        K.load_kolada_params(root=root)


def test_example_snapshot_is_labelled_and_in_the_api_format(params):
    snap = K.read_snapshot(K.EXAMPLE_SNAPSHOT)
    assert snap["exempel"] is True and "påhittade" in snap["anmarkning"]
    kp = K.load_kolada_params(params)
    for page in snap["svar"]["data"]:
        for r in page["json"]["values"]:
            assert set(r) == {"kpi", "municipality", "period", "values"}
            for v in r["values"]:
                assert set(v) == {"count", "gender", "status", "value"} and v["gender"] in "TKM"
    vals, kpis = K.snapshot_rows(snap)
    assert {k[0] for k in kpis} == set(kp.kpi_ids)
    assert {v[0] for v in vals} >= set(kp.kpi_ids)


# --------------------------------------------------------------------------- the command line
def _serve_project(server, kp, years):
    """Routes for the project's params/kolada.yaml: metadata, groups and one data page."""
    server.route(f"kpi/{','.join(kp.kpi_ids)}?{Q}", {"count": len(kp.kpi_ids), "values": [
        {"id": k, "title": k, "description": "", "is_divided_by_gender": 0} for k in kp.kpi_ids]})
    gids = ",".join(g.id for g in kp.groups())
    server.route(f"municipality_groups/{gids}?{Q}", {"count": 2, "values": [
        {"id": g.id, "title": g.namn, "members": []} for g in kp.groups()]})
    areas = ",".join(a[1] for a in kp.areas())
    ys = ",".join(map(str, years))
    server.route(f"data/kpi/{','.join(kp.kpi_ids)}/municipality/{areas}/year/{ys}?{Q}",
                 {"count": 1, "values": [rec(kp.kpi_ids[0], "0580", years[-1], 2500)]})
    ous = ",".join(o.ou for o in kp.organisatoriska_enheter)
    ou_kpis = ",".join(dict.fromkeys(kp.jamforelse(r).kpi for o in kp.organisatoriska_enheter for r in o.jamforelser))
    server.route(f"oudata/kpi/{ou_kpis}/ou/{ous}/year/{ys}?{Q}", {"count": 0, "values": []})


def test_cli_fetch_and_kpi_search(server, store, tmp_path, capsys, params):
    from vu_lib.cli import main

    kp = K.load_kolada_params(params)
    _serve_project(server, kp, [2024, 2025])
    rc = main(["kolada", "fetch", "--year", "2025", "2024", "--bas-url", server.base, "--store", str(store),
               "--dir", str(tmp_path / "kolada")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Ögonblicksbild sparad" in out and "inläst och aktiv" in out and "Källa: Kolada (RKA), CC BY 4.0" in out
    assert len(list((tmp_path / "kolada").glob("kolada-*.json"))) == 1
    server.route(f"kpi?title=hemtj%C3%A4nst&{Q}", {"count": 1, "values": [
        {"id": "N21006", "title": "Kostnad hemtjänst", "is_divided_by_gender": 1}]})
    assert main(["kolada", "kpi", "hemtjänst", "--bas-url", server.base]) == 0
    out = capsys.readouterr().out
    assert "N21006   kön Kostnad hemtjänst" in out


def test_cli_offline_exit_code_and_message(store, tmp_path, capsys):
    from vu_lib.cli import main

    rc = main(["kolada", "fetch", "--bas-url", "http://api.kolada.invalid/v3", "--store", str(store),
               "--dir", str(tmp_path / "kolada")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("vu: Kolada (http://api.kolada.invalid/v3) kan inte nås") and "Traceback" not in err
    assert not (tmp_path / "kolada").exists()


def test_cli_load_refuses_a_foreign_file(store, tmp_path, capsys):
    from vu_lib.cli import main

    bad = tmp_path / "x.json"
    bad.write_text('{"values": []}', encoding="utf-8")
    assert main(["kolada", "load", str(bad), "--store", str(store)]) == 2  # bad input
    assert "x.json: ingen Kolada-ögonblicksbild från vu" in capsys.readouterr().err
    assert main(["kolada", "load", str(tmp_path / "saknas.json"), "--store", str(store)]) == 2
    assert "saknas.json: ögonblicksbilden finns inte" in capsys.readouterr().err


# --------------------------------------------------------------------------- the report sections
def test_vu_section_on_the_sample_and_without_snapshot(store):
    from vu_lib import report
    from vu_lib.model.nyckeltal import nyckeltal

    ctx = report.vu_context(vu="AN-VB", period="2026-08")
    sec = report.kolada(ctx)
    text = sec.text
    assert "Källa: Kolada (RKA), CC BY 4.0. Ögonblicksbild hämtad 2 november 2026 (exempelvärden" in text
    tables = [p for p in sec if hasattr(p, "to_markdown")]
    cost = next(t for t in tables if t.caption.startswith("Kostnad per dygn"))
    df = cost.data.set_index("rad")
    assert list(df.columns[-1:]) == ["2026"] and cost.headers["2026"] == "2026 (t.o.m. aug)"
    # the Leanlink row is the report's own key figure: the VU's vårddygnskostnad, full year 2025
    nk = nyckeltal(ctx.params, ctx.data, 2025, 12, vu="AN-VB")
    ours = nk[(nk["nyckeltal_id"] == "vb_varddygnskostnad") & (nk["kluster"] == "") & (nk["avser"] == "ack")]
    assert df.loc["Leanlink (vårt nyckeltal)", "2025"] == pytest.approx(float(ours["varde"].iloc[0]))
    assert math.isnan(df.loc["Leanlink (vårt nyckeltal)", "2021"])  # before the model's first year
    # a store with exports but no snapshot says so, and how to get one
    ctx2 = report.vu_context(vu="AN-VB", period="", store=str(store))
    assert "ingen Kolada-ögonblicksbild i lagret" in report.kolada(ctx2).text


def test_retry_after_as_seconds_or_http_date():
    import datetime as dt
    import email.utils

    assert K._retry_after("7") == 7.0 and K._retry_after(None) is None and K._retry_after("snart") is None
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=120)
    wait = K._retry_after(email.utils.format_datetime(later, usegmt=True))
    assert 100 < wait <= 120
