"""The registry of scenario families: what `generate.py` builds and `--check` compares.

A new family is one new module with a `build() -> list[Built]` function, registered here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import (
    ats_causes,
    clusters,
    login_scenarios,
    node_certs,
    own_certs,
    plain_ats,
    seed003,
    traversal_causes,
    traversal_healthy,
    traversal_pairs,
)
from .manifest import Built


def no_source_problems() -> list[str]:
    return []


@dataclass(frozen=True)
class Family:
    """One scenario family: its scenarios, built, and a check of the sources it copies lines from."""

    name: str
    build: Callable[[], list[Built]]
    source_problems: Callable[[], list[str]] = no_source_problems


FAMILIES: tuple[Family, ...] = (
    Family("ats-causes", ats_causes.build),
    Family("clusters", clusters.build),
    Family("seed003", seed003.build, seed003.source_problems),
    Family("plain-ats", plain_ats.build),
    Family("node-certificates", node_certs.build),
    Family("own-certificates", own_certs.build),
    Family("logins", login_scenarios.build),
    Family("traversal-pairs", traversal_pairs.build),
    Family("traversal-causes", traversal_causes.build),
    Family("traversal-healthy", traversal_healthy.build),
)

# scenarios.toml lists these in the order they had before the generator was split by family; keeping
# it keeps the committed manifest byte-identical. Scenarios not named here follow, in registry order.
MANIFEST_ORDER = (
    "healthy-mra-login",
    "x14.2-ecdsa-self-signed-6972",
    "untrusted-root-depth1",
    "missing-intermediate",
    "expired-certificate",
    "cucm-by-ip-san-missing",
    "cluster-one-node-missing-ca",
    "seed003-self-signed-6972",
    "seed003-ip-not-in-san",
    "no-traffic-server",
    "permissive-continue",
    "upstream-rejects-expressway",
    "unexplained-502",
    "version-x14.0.7-no-enforcement",
    "plain-ats-diags",
)


def manifest_rank(built: Built) -> int:
    name = built.manifest["name"]
    return MANIFEST_ORDER.index(name) if name in MANIFEST_ORDER else len(MANIFEST_ORDER)


def build_every_family() -> list[Built]:
    """Every registered family's scenarios, built, in manifest order."""
    builds = [built for family in FAMILIES for built in family.build()]
    return sorted(builds, key=manifest_rank)


def source_problems() -> list[str]:
    return [problem for family in FAMILIES for problem in family.source_problems()]
