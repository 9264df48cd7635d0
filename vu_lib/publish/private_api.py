"""The private parts of jupyter_client and papermill that the batch builds on, checked in one place.

The batch's kernel manager (:mod:`vu_lib.publish.kernels`) overrides private members of
jupyter_client (to fork kernels from the zygote and to poll faster), and its papermill
engine (:mod:`vu_lib.publish.execute`) subclasses papermill's execution manager. Those are
not public APIs: ``pyproject.toml`` bounds the versions, and :func:`missing` (run by the
test suite and by :func:`require` before a batch starts) names anything a new release
removed, so an upgrade fails loudly with a clear message instead of silently running slower
or hanging.
"""
from __future__ import annotations

#: module -> attribute path -> what vu uses it for
REQUIRED: dict[str, dict[str, str]] = {
    "jupyter_client": {
        "AsyncKernelManager._async_wait": "polling a stopped kernel every 10 ms",
        "AsyncKernelManager._async_pre_start_kernel": "kernel ids, ipc connection files, the zygote provisioner",
        "AsyncKernelManager.kernel_spec": "a kernel spec without a kernelspec search",
        "AsyncKernelManager.client_factory": "the fast-polling kernel client",
        "asynchronous.AsyncKernelClient._handle_kernel_info_reply": "wait_for_ready with short IOPub timeouts",
        "asynchronous.AsyncKernelClient._async_is_alive": "wait_for_ready with short IOPub timeouts",
        "provisioning.LocalProvisioner.launch_kernel": "forking kernels from the zygote",
        "provisioning.LocalProvisioner.connection_info": "forking kernels from the zygote",
        "provisioning.LocalProvisioner.poll": "waiting for a forked kernel",
        "provisioning.LocalProvisioner.wait": "waiting for a forked kernel",
    },
    "papermill": {
        "engines.papermill_engines.register": "the batch's engine",
        "engines.NBClientEngine.execute_managed_notebook": "the batch's engine",
        "engines.NotebookExecutionManager.save": "throttled autosave",
        "engines.NotebookExecutionManager.now": "throttled autosave",
        "engines.NotebookExecutionManager.cell_start": "throttled autosave",
        "engines.NotebookExecutionManager.cell_complete": "throttled autosave",
        "engines.NotebookExecutionManager.notebook_start": "the batch's engine",
        "engines.NotebookExecutionManager.notebook_complete": "the batch's engine",
        "engines.NotebookExecutionManager.cleanup_pbar": "the batch's engine",
    },
}
#: Instance attributes set in __init__ (checked on an instance).
INSTANCE_ATTRIBUTES = {
    "jupyter_client.AsyncKernelManager": ("_kernel_spec", "transport", "connection_file", "ip", "provisioner"),
    "papermill.engines.NotebookExecutionManager": ("last_save_time", "autosave_cell_every"),
}


def _resolve(module: str, path: str):
    import importlib

    obj = importlib.import_module(module)
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not hasattr(obj, part):
            try:  # a submodule not imported by the package itself
                obj = importlib.import_module(f"{module}.{'.'.join(parts[: i + 1])}")
                continue
            except ImportError:
                raise AttributeError(part) from None
        obj = getattr(obj, part)
    return obj


def _instance(qualname: str):
    module, _, name = qualname.rpartition(".")
    cls = _resolve(module.split(".")[0], ".".join(module.split(".")[1:] + [name]))
    if name == "NotebookExecutionManager":
        import nbformat

        return cls(nbformat.v4.new_notebook(), output_path=None, progress_bar=False)
    return cls()


def missing() -> list[str]:
    """What the batch needs and the installed versions lack, one line each (empty: all there)."""
    from importlib.metadata import version

    out = []
    for module, attrs in REQUIRED.items():
        for path, why in attrs.items():
            try:
                _resolve(module, path)
            except (ImportError, AttributeError):
                out.append(f"{module} {version(module)}: {path} saknas (används för: {why})")
    for qualname, attrs in INSTANCE_ATTRIBUTES.items():
        try:
            obj = _instance(qualname)
        except Exception as e:  # noqa: BLE001 - any failure to build one is the finding
            out.append(f"{qualname}: kan inte skapas ({type(e).__name__}: {e})")
            continue
        for a in attrs:
            if not hasattr(obj, a):
                pkg = qualname.split(".")[0]
                out.append(f"{pkg} {version(pkg)}: {qualname}.{a} saknas")
    return out


def require() -> None:
    """Raise :class:`~vu_lib.core.exceptions.VuError` naming what is missing, if anything."""
    from vu_lib.core.exceptions import VuError

    gone = missing()
    if gone:
        raise VuError("Batchen bygger på interna delar av jupyter_client och papermill som saknas i de "
                      "installerade versionerna (se gränserna i pyproject.toml):\n  " + "\n  ".join(gone))
