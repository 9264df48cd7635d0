"""The kernel manager the batch's workers give papermill.

:func:`kernel_manager_class` builds (on first use, as it imports
jupyter_client) ``VuKernelManager``:

* the kernel is always this environment's Python (ipykernel's native spec
  with ``sys.executable``), whatever kernelspecs are installed;
* its provisioner forks the kernel from the batch's zygote
  (:mod:`vu_lib.zygote`) when ``VU_BATCH_ZYGOTE_SOCKET`` is set, else
  launches it the usual way; kernel stdout/stderr go to ``VU_BATCH_KERNEL_LOG``;
* on POSIX, kernels talk over Unix sockets under ``VU_BATCH_RUNTIME_DIR``
  (no TCP port races between parallel workers);
* the client and the manager poll every 10-20 ms where the stock classes
  sleep 100-200 ms, which matters for kernels that start in a few tenths
  of a second.

Only worker processes import this module.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid

from vu_lib.publish.zygote import fork_kernel

_KM_CLASS = None


class ForkedKernelProcess:
    """Popen-like handle of a kernel forked by the zygote (not our child; the zygote reaps it).

    Uses a pidfd where the platform has one (Linux), so a signal can never
    reach another process that reused the pid; else plain pid checks.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        self.pidfd = None
        if hasattr(os, "pidfd_open"):
            try:
                self.pidfd = os.pidfd_open(pid)
            except OSError:
                self.pidfd = None

    def poll(self):
        if self.returncode is None:
            if self.pidfd is not None:
                if select.select([self.pidfd], [], [], 0)[0]:
                    self._gone()
            else:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    self._gone()
                except PermissionError:
                    pass
        return self.returncode

    def _gone(self):
        self.returncode = 0
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is not None:
            return
        if self.pidfd is not None:
            signal.pidfd_send_signal(self.pidfd, signum)
        else:
            os.kill(self.pid, signum)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def kernel_manager_class():
    """The kernel manager class used by the workers (built once per process; see the module docstring)."""
    global _KM_CLASS
    if _KM_CLASS is not None:
        return _KM_CLASS
    from jupyter_client import AsyncKernelManager
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.provisioning import LocalProvisioner

    class VuProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            sock = os.environ.get("VU_BATCH_ZYGOTE_SOCKET")
            log = os.environ.get("VU_BATCH_KERNEL_LOG") or os.devnull
            forkable = (sock and len(cmd) >= 3 and cmd[0] == sys.executable
                        and cmd[1:3] == ["-m", "ipykernel_launcher"])
            if not forkable:
                kwargs = dict(kwargs)
                fh = open(log, "ab")  # noqa: SIM115 - Popen duplicates the descriptor
                try:
                    kwargs.setdefault("stdout", fh)
                    kwargs.setdefault("stderr", fh)
                    return await super().launch_kernel(cmd, **kwargs)
                finally:
                    fh.close()
            cwd = str(kwargs.get("cwd") or os.getcwd())
            env = dict(kwargs.get("env") or os.environ)
            try:
                pid = fork_kernel(sock, {"argv": cmd[3:], "env": env, "cwd": cwd, "log": log})
            except (OSError, RuntimeError, ValueError):
                os.environ.pop("VU_BATCH_ZYGOTE_SOCKET", None)  # the zygote is gone: launch normally from now on
                return await self.launch_kernel(cmd, **kwargs)
            self.process = ForkedKernelProcess(pid)
            self.pid = pid
            # The child calls setsid(), so its group is its pid; without a pidfd the
            # group is signalled (as for a normal kernel), with one the process itself.
            self.pgid = None if self.process.pidfd is not None else pid
            self.cwd = cwd
            return self.connection_info

        async def wait(self):
            # As LocalProvisioner.wait, polling every 10 ms instead of 100 ms.
            import asyncio

            if self.process is not None:
                while await self.poll() is None:
                    await asyncio.sleep(0.01)
            return await super().wait()

    class VuKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            # As KernelClient._async_wait_for_ready, but polling IOPub with 10-20 ms
            # timeouts: the stock client always spends 0.2 s flushing IOPub, and
            # another 0.2 s per retry while IOPub is still connecting.
            from queue import Empty

            deadline = time.time() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    msg = None
                if msg is not None and msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.02)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.01)
                except Empty:
                    break

    class VuKernelManager(AsyncKernelManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.client_factory = VuKernelClient
            if os.name == "posix":
                # Unix sockets: no TCP port races between parallel workers (a port
                # picked by one worker taken by another's kernel), no TCP warning.
                self.transport = "ipc"

        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                from ipykernel.kernelspec import RESOURCES, get_kernel_dict

                self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return self._kernel_spec

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # A killed kernel is gone within milliseconds; don't sleep 100 ms per check.
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
                if self.transport == "ipc" and not self.connection_file:
                    # Short absolute paths (Unix socket paths are limited to ~100 bytes).
                    import tempfile

                    base = os.path.join(os.environ.get("VU_BATCH_RUNTIME_DIR") or tempfile.gettempdir(),
                                        f"k{self.kernel_id.replace('-', '')[:12]}")
                    self.connection_file = base + ".json"
                    self.ip = base + "-ipc"
                self.provisioner = VuProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    _KM_CLASS = VuKernelManager
    return _KM_CLASS
