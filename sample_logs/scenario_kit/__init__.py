"""The pieces `sample_logs/generate.py` is made of: it writes the sample bundles, their manifest and the
benchmark snapshot. The tests read every other folder of sample_logs/ as a sample; a folder with an
__init__.py is code, not a sample.

Shared building blocks: `vocabulary` (fixed words and identifiers), `clock`, `log_lines` (the envelope
and one writer per body shape), `deployment` (servers, outcomes, nodes), `traffic` (MRA requests and
their transaction lines), `noise` (other processes), `snapshot` (one node's log and its tally),
`bundle_files` (xstat, xconf, deterministic tar/gzip), `manifest` (scenarios.toml and its consistency
check) and `scenario_build` (an Expressway scenario into its bundles).

Scenario families, one module each: `ats_causes`, `clusters`, `seed003`, `plain_ats`; they are listed in
`registry`, which `outputs` builds, writes and checks. `benchmark_file` writes the `--big` snapshot.
"""
