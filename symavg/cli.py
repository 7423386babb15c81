"""The ``symavg`` command line.

::

    symavg derive MODEL.toml [--format markdown|latex] [--standalone] [--emit reduced.py]
                             [--notebook derivation.ipynb]
    symavg verify MODEL.toml [--eps 0.1 0.05 0.025] [--paths N] [--seed S] [--T T]
                  [--dt-factor F] [--target K] [--max-paths N] [--max-time S]
                  [--variance-reduction auto|none|antithetic|control|antithetic+control]
                             [--figure out.png]
    symavg examples [--run NAME]
    symavg test

``python -m symavg`` is the same program. Model files are described in
``docs/cli.md``. Errors that symavg raises on purpose (a malformed model file,
a model it cannot reduce) print one line to standard error and exit with
status 2, without a traceback; a failed self-check exits with status 1.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import SymavgError

__all__ = ["build_parser", "examples_dir", "main"]

#: Exit status for errors symavg raises on purpose (bad input, unsupported model).
EXIT_ERROR = 2
#: Exit status of a failed self-check.
EXIT_FAILED = 1


class _UserError(Exception):
    """Bad command-line input that is not a SymavgError (missing file, missing setting)."""


class _Unavailable(Exception):
    """A part of symavg that a command needs is not installed / not built yet."""


def examples_dir() -> Path:
    """The ``worked_examples/`` folder of the source tree the package runs from.

    Returns
    -------
    Path
        ``Path(symavg.__file__).parents[1] / "worked_examples"``; it exists in a
        source checkout or an editable install, not in a wheel.
    """
    import symavg

    return Path(symavg.__file__).resolve().parents[1] / "worked_examples"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return sanitize(text or type(exc).__name__)


#: control characters (C0 except tab/newline, DEL, C1) and the bidirectional and
#: invisible format characters: a model file's name or expression could otherwise move
#: the cursor, recolour or retitle the terminal, or reorder the text it shows
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
                     "\u2066-\u2069\ufeff]")


def sanitize(text: str) -> str:
    r"""``text`` with terminal control and bidirectional characters shown as escapes.

    Examples
    --------
    >>> from symavg.cli import sanitize
    >>> sanitize("model\x1b]0;pwned\x07 A")
    'model\\x1b]0;pwned\\x07 A'
    """
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _SafeWriter:
    """A text stream that writes through :func:`sanitize` (the command's standard output)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(sanitize(text))

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _load(path: str) -> Any:
    from .io.modelfile import load_model

    try:
        return load_model(path)
    except OSError as exc:
        raise _UserError(f"cannot read model file {path}: {exc.strerror or exc}") from None


def _reduce(spec: Any) -> Any:
    try:
        from .derive import reduce
    except ImportError as exc:
        raise _Unavailable(f"symavg.reduce ({exc})") from None
    # the scale lives in the declaration: the model file's ``scale = "delta"`` made
    # SDE(..., eps=delta), and reduce, verify and the emitted code read it from there
    return reduce(spec.model, spec.fast, eps=spec.model.eps)


def _verify_function() -> Callable[..., Any]:
    import symavg

    fn = getattr(symavg, "verify", None)
    if fn is None:
        try:
            from .numeric.verify import verify as fn  # type: ignore[no-redef]
        except ImportError as exc:
            raise _Unavailable(f"symavg.verify ({exc})") from None
    return fn


# ---- commands -----------------------------------------------------------------------------


def _cmd_derive(args: argparse.Namespace, out: TextIO) -> int:
    spec = _load(args.model)
    red = _reduce(spec)
    if args.standalone and args.format != "latex":
        raise _UserError("--standalone needs --format latex")
    standalone = args.format == "latex" and args.standalone
    text = (red.steps.to_latex(standalone=standalone) if args.format == "latex"
            else red.steps.to_markdown())
    if spec.name and standalone:
        text = text.replace("\\maketitle\n", "\\maketitle\n" + _latex_comment(spec) + "\n", 1)
    elif spec.name:
        lead = "% " if args.format == "latex" else ""
        out.write(f"{lead}Model: {spec.name} ({spec.source})\n\n")
    out.write(text.rstrip("\n") + "\n")
    if args.emit:
        try:
            src = red.to_python()
        except ImportError as exc:
            raise _Unavailable(f"code generation, EffectiveModel.to_python ({exc})") from None
        dest = Path(args.emit)
        try:
            dest.write_text(src, encoding="utf-8")
        except OSError as exc:
            raise _UserError(f"cannot write {dest}: {exc.strerror or exc}") from None
        print(sanitize(f"symavg: wrote the reduced model to {dest}"), file=sys.stderr)
    if args.notebook:
        dest = Path(args.notebook)
        try:
            red.steps.to_notebook(dest)
        except OSError as exc:
            raise _UserError(f"cannot write {dest}: {exc.strerror or exc}") from None
        print(sanitize(f"symavg: wrote the notebook of the derivation to {dest} (run it with "
                       "jupyter; it rebuilds the model, derives it and checks each step)"),
              file=sys.stderr)
    return 0


def _latex_comment(spec: Any) -> str:
    from .report.latex import escape

    source = escape(str(spec.source)).replace("/", "/\\allowbreak{}")
    return f"{{\\raggedright Model: {escape(spec.name)} ({source})\\par}}"


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    spec = _load(args.model)
    eps_values = args.eps if args.eps else spec.eps_values
    if not eps_values:
        raise _UserError("no eps values: pass --eps 0.1 0.05 ... or set eps = [...] under "
                         f"[simulate] in {spec.source}")
    if any(e <= 0 for e in eps_values):
        raise _UserError(f"--eps values must be positive; got {eps_values}")
    T = args.T if args.T is not None else spec.T
    if T is None or T <= 0:
        raise _UserError(f"no final time: pass --T or set T under [simulate] in {spec.source}")
    missing = [s.name for s in spec.slow if s not in spec.x0]
    if missing:
        raise _UserError(f"no initial value for the slow variable {missing[0]}: set x0 = "
                         f"{{ {missing[0]} = ... }} under [simulate] in {spec.source}")
    paths = args.paths if args.paths is not None else (spec.paths or 10_000)
    seed = args.seed if args.seed is not None else (spec.seed if spec.seed is not None else 0)
    if paths <= 0:
        raise _UserError(f"--paths must be positive; got {paths}")
    verify = _verify_function()
    red = _reduce(spec)
    extra: dict[str, Any] = {}
    if args.dt_factor is not None:
        if not args.dt_factor > 0:
            raise _UserError(f"--dt-factor must be positive; got {args.dt_factor}")
        extra["dt_factor"] = args.dt_factor
    if args.target is not None:
        if not args.target > 0:
            raise _UserError(f"--target must be a positive number of standard errors; got "
                             f"{args.target}")
        extra["target"] = args.target
    if args.max_paths is not None:
        if args.max_paths < paths:
            raise _UserError(f"--max-paths ({args.max_paths}) must be at least --paths "
                             f"({paths})")
        extra["max_paths"] = args.max_paths
    if args.max_time is not None:
        if not args.max_time > 0:
            raise _UserError(f"--max-time must be positive (seconds); got {args.max_time}")
        extra["max_time"] = args.max_time
    if args.variance_reduction is not None:
        extra["variance_reduction"] = args.variance_reduction
    rep = verify(spec.model, red, spec.x0, T, eps_values=list(eps_values),
                 observables=list(spec.observables), params=dict(spec.params), paths=paths,
                 seed=seed, **extra)
    out.write(str(rep.table()).rstrip("\n") + "\n")
    if args.figure:
        fig = rep.plot()
        try:
            fig.savefig(args.figure, dpi=120, bbox_inches="tight")
        except OSError as exc:
            raise _UserError(f"cannot write {args.figure}: {exc.strerror or exc}") from None
        finally:
            try:
                import matplotlib.pyplot as plt

                plt.close(fig)
            except Exception:  # pragma: no cover - closing is best effort
                pass
        print(sanitize(f"symavg: saved the figure to {args.figure}"), file=sys.stderr)
    return 0


def _example_scripts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _summary(path: Path) -> str:
    """First line of the module docstring or of the leading comments of a script."""
    import ast

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    try:
        doc = ast.get_docstring(ast.parse(text))
    except SyntaxError:
        doc = None
    if doc:
        return doc.strip().splitlines()[0]
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#!") or s.startswith("# %%") or s.startswith("# -*-"):
            continue
        if not s.startswith("#"):
            return ""
        s = s.lstrip("#").strip()
        if s:          # a Markdown cell's heading "# # Title" gives "Title"
            return s.lstrip("#").strip()
    return ""


def _cmd_examples(args: argparse.Namespace, out: TextIO) -> int:
    folder = examples_dir()
    if not folder.is_dir():
        raise _UserError(f"worked examples not found: {folder} does not exist (they ship with "
                         "the source tree, not with an installed wheel; clone the repository)")
    scripts = _example_scripts(folder)
    if args.run is None:
        if not scripts:
            out.write(f"no worked examples in {folder}\n")
            return 0
        out.write(f"worked examples in {folder}:\n")
        width = max(len(p.stem) for p in scripts)
        for p in scripts:
            out.write(f"  {p.stem:<{width}}  {_summary(p)}\n")
        out.write("run one with: symavg examples --run NAME\n")
        return 0
    name = args.run[:-3] if args.run.endswith(".py") else args.run
    exact = [p for p in scripts if p.stem == name]
    matches = exact or [p for p in scripts if p.stem.startswith(name)]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in scripts) or "none"
        what = "no worked example" if not matches else "several worked examples match"
        raise _UserError(f"{what} {args.run!r}; available: {known}")
    script = matches[0]
    print(f"symavg: running {script}", file=sys.stderr)
    out.flush()
    proc = subprocess.run([sys.executable, str(script)], cwd=str(script.parent), check=False)
    return proc.returncode


_SELF_CHECK_MODEL = """
name = "self-check: fast OU driving a slow variable"
[state]
slow = ["x"]
fast = ["y"]
[sde]
drift = ["y/eps", "-y/eps^2"]
noise = [["0"], ["sqrt(2)/eps"]]
"""


def _cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    import importlib

    failures = 0

    def report(name: str, ok: bool, detail: str = "") -> None:
        nonlocal failures
        failures += not ok
        out.write(f"  [{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}\n")

    import symavg

    out.write(f"symavg {getattr(symavg, '__version__', '?')} from "
              f"{Path(symavg.__file__).parent}, Python {sys.version.split()[0]}\n")
    for mod in ("sympy", "numpy", "scipy", "symavg.models", "symavg.derive", "symavg.io"):
        try:
            m = importlib.import_module(mod)
            report(f"import {mod}", True, getattr(m, "__version__", ""))
        except Exception as exc:  # noqa: BLE001 - a self-check reports every failure
            report(f"import {mod}", False, _one_line(exc))
    try:
        import numba

        out.write(f"  [ok] numba {numba.__version__} (fast kernels available)\n")
    except ImportError:
        out.write("  [--] numba not installed (optional: pip install symavg[fast])\n")

    from .io.modelfile import loads_model

    try:
        spec = loads_model(_SELF_CHECK_MODEL, source="<self-check>")
        report("read a model file", True)
    except Exception as exc:  # noqa: BLE001
        report("read a model file", False, _one_line(exc))
        return EXIT_FAILED
    try:
        from .derive import reduce
    except ImportError as exc:
        out.write(f"  [--] symavg.reduce not available ({_one_line(exc)}); derivation skipped\n")
    else:
        t0 = time.perf_counter()
        try:
            red = reduce(spec.model, spec.fast, eps=spec.model.eps)
            ok = (red.regime == "homogenization" and red.drift[0] == 0
                  and red.diffusion[0, 0] == 2)
            report("derive the reduced OU model (drift 0, diffusion 2)", ok,
                   f"{time.perf_counter() - t0:.2f} s" if ok else
                   f"got regime {red.regime}, drift {red.drift[0]}, diffusion "
                   f"{red.diffusion[0, 0]}")
        except Exception as exc:  # noqa: BLE001
            report("derive the reduced OU model", False, _one_line(exc))
    out.write("all checks passed\n" if not failures else f"{failures} check(s) FAILED\n")
    return EXIT_FAILED if failures else 0


# ---- parser and entry point -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``symavg`` program.

    Returns
    -------
    argparse.ArgumentParser
    """
    from . import __version__

    p = argparse.ArgumentParser(
        prog="symavg",
        description="Derive reduced models of multiscale stochastic systems and check them "
                    "by Monte Carlo. Model files are TOML; see docs/cli.md.",
    )
    p.add_argument("--version", action="version", version=f"symavg {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("derive", help="derive the reduced model of a model file",
                       description="Print the derivation of the reduced model, step by step.")
    d.add_argument("model", metavar="MODEL.toml", help="the model file")
    d.add_argument("--format", choices=("markdown", "latex"), default="markdown",
                   help="how to print the derivation (default: markdown)")
    d.add_argument("--standalone", action="store_true",
                   help="with --format latex: a whole LaTeX document (for pdflatex) instead "
                        "of a fragment")
    d.add_argument("--emit", metavar="PATH",
                   help="also write a standalone Python module of the reduced model to PATH")
    d.add_argument("--notebook", metavar="PATH",
                   help="also write a Jupyter notebook to PATH that rebuilds the model, "
                        "derives it and checks it step by step")
    d.set_defaults(func=_cmd_derive)

    v = sub.add_parser("verify", help="Monte Carlo check of the reduced model",
                       description="Simulate the full model at several eps and the reduced "
                                   "model, and print the weak errors of the observables.")
    v.add_argument("model", metavar="MODEL.toml", help="the model file")
    v.add_argument("--eps", type=float, nargs="+", metavar="EPS",
                   help="values of the scale parameter (the file's scale, eps by default; "
                        "default: [simulate] eps of the file)")
    v.add_argument("--paths", type=int, help="Monte Carlo paths (default: the file's, or 10000)")
    v.add_argument("--seed", type=int, help="random seed (default: the file's, or 0)")
    v.add_argument("--T", type=float, help="final time (default: [simulate] T of the file)")
    v.add_argument("--dt-factor", type=float, metavar="F",
                   help="step of the full model as a fraction of its fastest time scale "
                        "(default 0.05); lower it when the time-step check reports a bias")
    v.add_argument("--target", type=float, metavar="K",
                   help="add paths until every weak error exceeds K standard errors (or a "
                        "budget runs out); the report gives the paths still needed")
    v.add_argument("--max-paths", type=int, metavar="N",
                   help="with --target: path budget per eps (default 64 x --paths, 1024 x "
                        "with --max-time)")
    v.add_argument("--max-time", type=float, metavar="S",
                   help="with --target: wall-clock budget in seconds for the added paths")
    v.add_argument("--variance-reduction",
                   choices=["auto", "none", "antithetic", "control", "antithetic+control"],
                   help="estimator of the full model's means (default auto: control "
                        "variates on the Brownian sums for an SDE, plain Monte Carlo "
                        "otherwise); none, antithetic pairs, control, or both")
    v.add_argument("--figure", metavar="PNG", help="save the error-vs-eps plot to this file")
    v.set_defaults(func=_cmd_verify)

    e = sub.add_parser("examples", help="list or run the worked examples",
                       description="List the scripts in worked_examples/, or run one.")
    e.add_argument("--run", metavar="NAME", help="run the example NAME (file name or prefix)")
    e.set_defaults(func=_cmd_examples)

    t = sub.add_parser("test", help="quick self-check of the installation",
                       description="Import the parts of symavg and derive a small model.")
    t.set_defaults(func=_cmd_test)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``symavg`` program.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 1 when the self-check fails, 2 on an
        error symavg raises on purpose or on bad command-line input (one line
        on standard error, no traceback).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    out = _SafeWriter(sys.stdout)
    try:
        return int(args.func(args, out))  # type: ignore[arg-type]
    except (SymavgError, _UserError) as exc:
        print(f"symavg {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except _Unavailable as exc:
        print(f"symavg {args.command}: error: this installation lacks {_one_line(exc)}",
              file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("symavg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
