"""Ship the top-level templates/ and surveys/ folders inside the wheel as package data."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("templates", "surveys", "migrations")


class BuildWithData(build_py):
    """Copy the data folders to ``wellbeing/_data/`` in the build tree."""

    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        for name in DATA_FOLDERS:
            source = here / name
            if source.is_dir():
                target = Path(self.build_lib) / "wellbeing" / "_data" / name
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(source, target)


setup(cmdclass={"build_py": BuildWithData})
