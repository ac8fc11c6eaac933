"""The command line of studies and sweeps (``distill tune`` and ``distill sweep`` run it):

    python -m swiftdistill.study tune --env CartPole-v1 --study runs/study --trials 20 --jobs 2
    python -m swiftdistill.study sweep --env CartPole-v1 --out runs/sweep --seeds 0,1,2

See ``swiftdistill._studies`` (``sd.tune``, ``sd.sweep``) for what they do.
"""
import argparse
import contextlib
import json
import sys
from typing import Any, Dict, Optional, Sequence

from ._studies import TuneError, load_space, sweep, tune
from ._studies import __doc__ as _STUDIES_DOC


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _settings(pairs: Sequence[str]) -> Dict[str, Any]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise TuneError(f"--set takes key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip().replace("-", "_")] = _value(v.strip())
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="distill", description=_STUDIES_DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tune", help="an Optuna study over DQN or distillation settings")
    t.add_argument("--algorithm", choices=["dqn", "distill"], default="dqn")
    t.add_argument("--env", help="Gymnasium id or module:attribute (distill: the teacher's by default)")
    t.add_argument("--teacher", action="append", help="teacher model directory (distill studies)")
    t.add_argument("--study", required=True, help="study directory (created, or continued when it exists)")
    t.add_argument("--trials", type=int, default=20, help="trials in the study in all (counting earlier sessions)")
    t.add_argument("--jobs", type=int, default=1, help="trials run at once on this machine (one process each)")
    t.add_argument("--steps", type=int, help="environment steps (dqn) or distillation steps per trial")
    t.add_argument("--seed", type=int, default=0, help="sampler seed; trial N trains with seed+N")
    t.add_argument("--space", help="search space file (JSON or YAML) replacing the default")
    t.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    t.add_argument("--pruner", choices=["median", "halving", "none"], default="median")
    t.add_argument("--eval-interval", type=int, help="steps between the evaluations pruning reads (default steps/5)")
    t.add_argument("--eval-episodes", type=int, default=5)
    t.add_argument("--final-episodes", type=int, default=10, help="episodes that score the saved model")
    t.add_argument("--keep", type=float, default=1.0, help="distill: normalised return best.json must keep")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a fixed setting for every trial")
    t.add_argument("--ray-address", help="run trials as Ray tasks on this cluster (auto, or ray://host:10001)")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    s = sub.add_parser("sweep", help="settings × seeds, aggregated with IQM and bootstrap intervals")
    s.add_argument("--algorithm", choices=["dqn", "distill"], default="dqn")
    s.add_argument("--env")
    s.add_argument("--teacher", action="append")
    s.add_argument("--out", required=True, help="sweep directory (runs kept; complete runs are not redone)")
    s.add_argument("--seeds", default="0,1,2")
    s.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,…",
                   help="a setting and its values (repeatable; hidden sizes as 64x64)")
    s.add_argument("--steps", type=int)
    s.add_argument("--jobs", type=int, default=1)
    s.add_argument("--final-episodes", type=int, default=10)
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--ray-address", help="run each run as a Ray task on this cluster")
    s.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "tune":
            space = load_space(args.space) if args.space else None
            # With --json only the summary goes to stdout (Ray's own messages go to stderr).
            quiet_out = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
            with quiet_out:
                summary = tune(args.env, study=args.study, algorithm=args.algorithm, trials=args.trials,
                               jobs=args.jobs, steps=args.steps, seed=args.seed, teacher=args.teacher, space=space,
                               sampler=args.sampler, pruner=args.pruner, settings=_settings(args.set),
                               eval_interval=args.eval_interval, eval_episodes=args.eval_episodes,
                               final_episodes=args.final_episodes, keep=args.keep, ray_address=args.ray_address,
                               quiet=args.json)
            if args.json:
                print(json.dumps(summary, indent=1))
            else:
                print(f"study {summary['study']}: {summary['complete']} complete, {summary['pruned']} pruned, "
                      f"{summary['failed']} failed")
                if "best_trial" in summary:
                    print(f"best: trial {summary['best_trial']} ({summary['best_value']:.2f}); "
                          f"settings in {summary['best_config']} (distill train|distill --config)")
        else:
            grid = {}
            for item in args.grid:
                if "=" not in item:
                    raise TuneError(f"--grid takes key=v1,v2,…, got {item!r}")
                k, v = item.split("=", 1)
                grid[k.strip().replace("-", "_")] = [
                    _value(x.replace("x", ",")) if k.strip().replace("-", "_") == "hidden_sizes" else _value(x)
                    for x in v.split(",")]
            quiet_out = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
            with quiet_out:
                try:
                    seeds = [int(x) for x in args.seeds.split(",")]
                except ValueError:
                    raise TuneError(f"--seeds takes integers separated by commas, e.g. 0,1,2 (got {args.seeds!r})") from None
                rows = sweep(args.env, out=args.out, seeds=seeds, grid=grid,
                             algorithm=args.algorithm, teacher=args.teacher, steps=args.steps,
                             settings=_settings(args.set), jobs=args.jobs, final_episodes=args.final_episodes,
                             ray_address=args.ray_address, quiet=args.json)
            if args.json:
                print(json.dumps(rows, indent=1))
            else:
                for r in rows:
                    print(f"combination {r['combination']}: mean {r['mean']:.1f} ± {r['sd']:.1f}, IQM {r['iqm']:.1f} "
                          f"[{r['iqm_low']:.1f}, {r['iqm_high']:.1f}] over {r['runs']} runs")
    except TuneError as e:
        print(f"Error: {e}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted: running trials were stopped and marked failed; run the same command to continue.",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
