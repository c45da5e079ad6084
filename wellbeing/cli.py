"""The ``wellbeing`` command: every operator task, from database upgrades to the demo."""

from __future__ import annotations

from flask.cli import FlaskGroup

from wellbeing import create_app
from wellbeing.demo.cli import demo_command

main = FlaskGroup(
    name="wellbeing",
    create_app=create_app,
    add_version_option=False,
    load_dotenv=False,
    help="Wellbeing Pulse: anonymous staff wellbeing pulse surveys.",
)

# Also on the group itself: the demo builds its own app with development settings, so
# `wellbeing demo` must not first load the default app (which needs production settings).
main.add_command(demo_command)

if __name__ == "__main__":
    main()
