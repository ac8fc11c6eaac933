"""Draws README's figure from the measurement tables (docs/measurements/*-policy-teachers.md):
each distilled student of an SB3 agent as a point, its normalised return against its share of
the teacher's actor parameters. Run after a benchmark changes those tables:

    .venv/bin/python scripts/readme-figure.py   # writes docs/img/policy-students.png
"""
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]


def rows(page: Path):
    """(env, teacher kind, share %, normalised) of every table row that has those columns."""
    header = None
    for line in page.read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set(cells[0]) <= {"-"}:
            continue
        named = dict(zip(header, cells))
        share = re.search(r"\(([\d.]+)%\)", named.get("student parameters (share)", ""))
        if share and named.get("normalised"):
            teacher = next((h for h in header if h.startswith("teacher (")), "teacher")
            yield named["env"], teacher[len("teacher ("):-len(") return")], float(share.group(1)), float(named["normalised"])


def main() -> None:
    points = [p for page in sorted((ROOT / "docs" / "measurements").glob("*-policy-teachers.md")) for p in rows(page)]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for label in sorted({f"{env} ({kind})" for env, kind, _, _ in points}):
        xs = [s for env, kind, s, _ in points if f"{env} ({kind})" == label]
        ys = [n for env, kind, _, n in points if f"{env} ({kind})" == label]
        ax.scatter(xs, ys, label=label, s=28)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.axhline(0.95, color="gray", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 5, 10, 20, 30])
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_ylim(0.94, max(1.03, max(n for *_, n in points) + 0.01))
    ax.set_xlabel("student's share of the teacher's actor parameters (%)")
    ax.set_ylabel("normalised return")
    ax.set_title("Students of SB3 agents, seeds 0–2, 20 fresh episodes each", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = ROOT / "docs" / "img" / "policy-students.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out} ({len(points)} students)")


if __name__ == "__main__":
    main()
