"""The private jupyter_client and papermill members the batch overrides are all there."""
from vu_lib.publish import private_api


def test_the_private_api_the_batch_needs_is_there():
    gone = private_api.missing()
    assert not gone, ("an upgrade removed what the batch builds on; pin the versions in pyproject.toml "
                      "or adapt vu_lib/publish/kernels.py and execute.py:\n" + "\n".join(gone))


def test_a_missing_member_is_named(monkeypatch):
    monkeypatch.setitem(private_api.REQUIRED, "papermill", {"engines.NoSuchThing.save": "a test"})
    gone = private_api.missing()
    assert len(gone) == 1 and "engines.NoSuchThing.save saknas" in gone[0] and "papermill 2." in gone[0]
