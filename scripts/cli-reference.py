"""Writes docs/reference/cli.md, the command-line reference, from the tool itself: every command's
abstract, discussion and options from `distill --experimental-dump-help` (swift-argument-parser's
description of the command tree), and the settings of `train` and `distill` from their tables
(`swiftdistill.settings`), so the reference cannot drift from `--help`.

    .venv/bin/python scripts/cli-reference.py [--check]

--check compares instead of writing, and fails naming the command that regenerates the file.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "reference" / "cli.md"
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))


def option_name(argument):
    """`--env <env>`, `-f, --force`, `<models> …` as the usage line writes them."""
    names = [("-" if n["kind"] == "short" else "--") + n["name"] for n in argument.get("names", [])]
    if argument["kind"] == "positional":
        text = f"<{argument['valueName']}>"
    elif argument["kind"] == "flag":
        text = ", ".join(names)
    else:
        text = ", ".join(names) + f" <{argument['valueName']}>"
    return text + (" …" if argument.get("isRepeating") else "")


def cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def settings_table(algorithm):
    import swiftdistill as sd
    rows = ["| flag | key | kind | default | meaning |", "|---|---|---|---|---|"]
    for s in sd.settings(algorithm):
        default = s["default"]
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        kind = s["kind"] + (f" ({', '.join(s['choices'])})" if s["choices"] else "")
        flag = s.get("flag") or f"--set {s['key']}=…"
        rows.append(f"| `{flag}` | `{s['key']}` | {cell(kind)} | `{cell(shown)}` | {cell(s['help'])} |")
    return "\n".join(rows)


def command_section(command, path, depth):
    name = " ".join(path)
    out = [f"{'#' * depth} `{name}`", "", cell(command.get("abstract", "")), ""]
    discussion = command.get("discussion", "")
    settings_at = discussion.find("SETTINGS (")
    if settings_at >= 0:
        discussion = discussion[:settings_at].rstrip()
    if discussion:
        out += [discussion, ""]
    arguments = [a for a in command.get("arguments", []) if a.get("shouldDisplay", True)
                 and a.get("valueName") not in ("help", "version")]
    if arguments:
        out += ["| argument | meaning |", "|---|---|"]
        for a in arguments:
            meaning = cell(a.get("abstract", ""))
            if a.get("defaultValue") not in (None, ""):
                meaning += f" (default: `{cell(a['defaultValue'])}`)"
            out.append(f"| `{option_name(a)}` | {meaning} |")
        out.append("")
    algorithm = {"distill train": "dqn", "distill distill": "distill"}.get(name)
    if algorithm:
        note = " The defaults shown are CartPole-v1's; other environments start from rl-zoo's." if algorithm == "dqn" else ""
        out += [f"**Settings**: each is a flag, `--set key=value`, and a `--config` file key.{note}",
                "", settings_table(algorithm), ""]
    for sub in command.get("subcommands", []):
        if sub["commandName"] != "help" and sub.get("shouldDisplay", True):
            out += command_section(sub, path + [sub["commandName"]], depth + 1)
    return out


def render():
    dump = json.loads(subprocess.run([DISTILL, "--experimental-dump-help"], capture_output=True, text=True, check=True).stdout)
    root = dump["command"]
    lines = ["# Command-line reference", "",
             "Generated from the tool (`scripts/cli-reference.py`: swift-argument-parser's description of the",
             "command tree, and the settings tables of `train` and `distill`); `distill COMMAND --help` prints",
             "the same. [The command line](../cli.md) explains what the commands are for.", ""]
    for sub in root["subcommands"]:
        if sub["commandName"] != "help":
            lines += command_section(sub, ["distill", sub["commandName"]], 2)
    return "\n".join(lines).rstrip() + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date; regenerate it with .venv/bin/python scripts/cli-reference.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
