"""Traceability stamps (vu_lib.trace)."""
import re
import shutil

import pandas as pd
import pytest

import vu_lib.core.versions as trace_mod
from modelkit import make_dataset, params
from vu_lib import __version__
from vu_lib.core.params import load_params
from vu_lib.model.trace import Trace, code_version, params_fingerprint, stamp, trace_for, trace_of


def test_code_version_format_and_cached():
    v = code_version()
    assert re.fullmatch(re.escape(__version__) + r"\+(g[0-9a-f]{4,40}(\.dirty)?|src\.[0-9a-f]{12})", v), v
    assert code_version() is v  # cached: computed once per process


def test_code_version_without_git_hashes_sources(monkeypatch):
    monkeypatch.setattr(trace_mod, "_git", lambda *a: None)
    trace_mod.code_version.cache_clear()
    try:
        v = code_version()
        assert re.fullmatch(re.escape(__version__) + r"\+src\.[0-9a-f]{12}", v), v
        assert v.endswith(trace_mod.source_hash())
    finally:
        trace_mod.code_version.cache_clear()


def test_params_fingerprint_follows_file_bytes(tmp_path):
    p = params()
    fp = params_fingerprint(p)
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    copy = tmp_path / "params"
    shutil.copytree(p.root, copy)
    # same bytes elsewhere: same fingerprint
    assert params_fingerprint(load_params(copy)) == fp
    # one changed byte in a model year: another fingerprint
    f = copy / "modell" / "2026.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "\n# ändrad\n", encoding="utf-8")
    assert params_fingerprint(load_params(copy)) != fp


def test_trace_for_model_version_follows_revision():
    p = params()
    ds = make_dataset(ledger=[{"period": "2026-07", "vu": "AN-VB", "kluster": "somatik",
                               "kontoslag": "personal", "belopp": 1.0}])
    june = trace_for(p, ds, 2026, 6)
    july = trace_for(p, ds, 2026, 7)
    assert (june.modellversion, june.period) == ("4.0", "2026-06")
    assert (july.modellversion, july.period) == ("4.1", "2026-07")
    assert july.data_fingerprint == ds.fingerprint
    assert july.kodversion == code_version()
    assert july.params_fingerprint == params_fingerprint(p)
    # a month string or a whole year
    assert trace_for(p, ds, "2026-08") == trace_for(p, ds, 2026, 8)
    y = trace_for(p, None, 2027)
    assert (y.modellversion, y.period, y.data_fingerprint) == ("5.0", "2027", "")


def test_trace_text_is_one_swedish_line():
    t = Trace("4.1", "abcdef0123456789", "0.1.0+g1234567", "0011223344556677", "2026-08")
    assert t.text() == ("Modellversion 4.1 · period 2026-08 · data abcdef0123456789 · "
                        "parametrar 0011223344556677 · kod 0.1.0+g1234567")
    assert "utan data" in Trace("4.0", "", "k", "p", "2026").text()
    assert "\n" not in t.text()


def test_stamp_sets_attrs_on_same_frame():
    df = pd.DataFrame({"a": [1]})
    t = trace_for(params(), None, 2026, 3)
    assert stamp(df, t) is df
    assert df.attrs["trace"] is t and trace_of(df) is t
    assert trace_of(pd.DataFrame()) is None


def test_trace_for_unknown_year():
    from vu_lib.core.exceptions import ParamsError

    with pytest.raises(ParamsError):
        trace_for(params(), None, 2040, 1)
