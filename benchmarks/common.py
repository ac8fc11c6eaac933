"""What the benchmark scripts share: where the binary is, running it, naming the CPU."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))


def distill(*args: str) -> str:
    """Runs `distill ARGS` and returns its output; a failure ends the benchmark with its message."""
    r = subprocess.run([DISTILL, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"distill {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def cpu_name() -> str:
    """The CPU's model name, printed beside every figure."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"
