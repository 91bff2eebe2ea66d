"""Build hook: compile logscope/scan/_cscan.c when a C compiler is present (issue 14 item 2).

The compiled scanner is optional. With no compiler (or `CC=false`) the build goes on and logscope
uses the Python scanner (`logscope.scan.BACKEND == "python"`). The extension is built in place, so
an editable install finds it too, and is added to a wheel as a platform-specific file.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("logscope/scan/_cscan.c")


def _compile(root: Path) -> Path | None:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = root / SOURCE.with_name("_cscan" + suffix)
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    command = [
        *compiler,
        "-O2",
        "-shared",
        "-fPIC",
        f"-I{sysconfig.get_paths()['include']}",
        str(root / SOURCE),
        "-o",
        str(target),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"logscope: no compiled scanner ({error}); the Python scanner is used")
        return None
    if done.returncode != 0:
        print(f"logscope: no compiled scanner ({compiler[0]} failed); the Python scanner is used")
        return None
    return target


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        target = _compile(Path(self.root))
        if target is None:
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = str(target.relative_to(self.root))
