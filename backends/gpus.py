"""GPU inventory: NVML, then ``nvidia-smi``, else none; ``KTTUI_FAKE_GPUS=N`` fakes N.

The fake inventory exists because most machines that run kttui's tests have no
GPU; it sits behind the same function so the scheduler and the TUI's GPU pane
exercise exactly the code paths they use on a real box.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import threading
from typing import Any

from kttui.backends.base import GpuInfo

FAKE_ENV = "KTTUI_FAKE_GPUS"


def fake_count() -> int | None:
    raw = os.environ.get(FAKE_ENV)
    if raw is None or raw.strip() == "":
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


def detect_gpus() -> list[GpuInfo]:
    """The GPUs on this machine (fake ones when ``KTTUI_FAKE_GPUS`` is set)."""
    fake = fake_count()
    if fake is not None:
        return [
            GpuInfo(i, f"Fake GPU {i}", 16384.0, 0.0, 0.0, None, fake=True) for i in range(fake)
        ]
    found = _nvml()
    if found is None:
        found = _nvidia_smi()
    return found or []


#: NVML is initialised once per process (a console polls every couple of
#: seconds for days; init/shutdown each time costs ~100 ms of driver work).
_NVML_LOCK = threading.Lock()
_NVML_READY: bool | None = None


def _nvml_ready(pynvml: Any) -> bool:
    global _NVML_READY
    with _NVML_LOCK:
        if _NVML_READY is None:
            try:
                pynvml.nvmlInit()
            except Exception:  # NVMLError subclasses: no driver, no library
                _NVML_READY = False
            else:
                _NVML_READY = True
                atexit.register(_nvml_shutdown, pynvml)
        return _NVML_READY


def _nvml_shutdown(pynvml: Any) -> None:
    with contextlib.suppress(Exception):
        pynvml.nvmlShutdown()


def _nvml() -> list[GpuInfo] | None:
    try:
        import pynvml
    except ImportError:
        return None
    if not _nvml_ready(pynvml):
        return None
    try:
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            util = pynvml.nvmlDeviceGetUtilizationRates(h)
            temp = pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)
            out.append(
                GpuInfo(
                    i,
                    name.decode() if isinstance(name, bytes) else str(name),
                    mem.total / 2**20,
                    mem.used / 2**20,
                    float(util.gpu),
                    float(temp),
                )
            )
        return out
    except Exception:
        return None


def _nvidia_smi() -> list[GpuInfo] | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    query = "index,name,memory.total,memory.used,utilization.gpu,temperature.gpu"
    try:
        proc = subprocess.run(
            [exe, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = []
    for line in proc.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 6:
            continue
        try:
            out.append(
                GpuInfo(
                    int(parts[0]),
                    parts[1],
                    _num(parts[2]),
                    _num(parts[3]),
                    _num(parts[4]),
                    _num(parts[5]),
                )
            )
        except ValueError:
            continue
    return out


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
