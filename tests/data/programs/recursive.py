"""Recursive workload for call-graph fixtures: direct recursion (fib) and mutual recursion.

``fib`` recurses directly; ``is_even``/``is_odd`` call each other; ``walk`` does both
under one caller. Used to record cProfile files whose caller graph has cycles.

    python tests/data/programs/recursive.py --n 18
"""
from __future__ import annotations

import argparse


def fib(n: int) -> int:
    """Naive Fibonacci: direct recursion."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def is_even(n: int) -> bool:
    """Mutual recursion with :func:`is_odd`."""
    return True if n == 0 else is_odd(n - 1)


def is_odd(n: int) -> bool:
    """Mutual recursion with :func:`is_even`."""
    return False if n == 0 else is_even(n - 1)


def walk(n: int) -> int:
    """Run both kinds of recursion ``n`` times."""
    total = 0
    for i in range(n):
        total += fib(i) + is_even(i * 20)
    return total


def main(argv: list[str] | None = None) -> int:
    """Parse ``--n`` and walk."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=18, help="largest fib argument (default 18)")
    args = ap.parse_args(argv)
    print(walk(args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
