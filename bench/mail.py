"""Invitations per second through the product's sender, next to a plain smtplib loop."""

from __future__ import annotations

import smtplib
import time

import sqlalchemy as sa

from bench import common


def run(staff: int) -> str:
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.pulse import mailer
    from wellbeing.pulse.models import Invitation

    with common.database("sqlite") as url, common.smtp_sink() as port:
        app = create_app(
            common.bench_config(
                url,
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=port,
                MAIL_SUPPRESS_SEND=False,
                MAIL_DEFAULT_SENDER="pulse@bench.example",
            )
        )
        with app.app_context():
            started = time.perf_counter()
            common.import_roster(common.roster_csv(staff, teams=60))
            imported = time.perf_counter() - started
            wave_id = common.open_wave_now()

            started = time.perf_counter()
            report = mailer.send_due()
            product = time.perf_counter() - started
            if report.invitations != staff:
                raise RuntimeError(f"sent {report.invitations} of {staff} invitations")

            # The same messages, rendered beforehand, serialised and sent by a bare loop over one
            # connection: the least any sender has to do.
            ids = db.session.scalars(
                sa.select(Invitation.id).where(Invitation.wave_id == wave_id)
            ).all()
            messages = []
            for invitation_id in ids:
                claim = mailer.Claim(invitation_id, mailer.Kind.INVITATION, "t" * 43)
                message = mailer.compose(claim)
                to = [r[1] if isinstance(r, tuple) else r for r in message.send_to]
                messages.append((to, message))
            started = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as connection:
                for recipients, message in messages:
                    connection.sendmail("pulse@bench.example", recipients, message.as_bytes())
            plain = time.perf_counter() - started
    product_rate, plain_rate = staff / product, staff / plain
    return common.table(
        f"Invitations to a local SMTP sink, {staff:,} staff (SQLite)",
        ["what", "seconds", "per second"],
        [
            ["roster import (validate + write)", imported, staff / imported],
            ["product sender (claim, token, compose, send, record)", product, product_rate],
            [
                "plain smtplib loop: same messages (rendered beforehand), one connection",
                plain,
                plain_rate,
            ],
            ["ratio product / plain (target ≥ 0.5)", "", f"{product_rate / plain_rate:.2f}"],
        ],
    )
