"""The account mails: plain text, a link into the PWA's account page."""

from __future__ import annotations

from backend.mail import Mail

SIGNATURE = "\n\n— Calcapp\n"


def verify_email(to: str, base_url: str, token: str) -> Mail:
    link = f"{base_url}/account.html#verify={token}"
    return Mail(
        to=to,
        subject="Confirm your email address for Calcapp",
        text=(
            "Please confirm this address for your Calcapp account by opening this link "
            f"within 24 hours:\n\n{link}\n\n"
            "If you did not ask for this, you can ignore this message." + SIGNATURE
        ),
    )


def already_registered(to: str, base_url: str) -> Mail:
    return Mail(
        to=to,
        subject="You already have a Calcapp account",
        text=(
            "Someone (hopefully you) tried to create a Calcapp account with this address, "
            "but it already has one.\n\n"
            f"Sign in: {base_url}/account.html\n"
            f"Forgot your password? Reset it from the same page.\n\n"
            "If it was not you, you can ignore this message: nothing has changed." + SIGNATURE
        ),
    )


def reset_password(to: str, base_url: str, token: str) -> Mail:
    link = f"{base_url}/account.html#reset={token}"
    return Mail(
        to=to,
        subject="Reset your Calcapp password",
        text=(
            "To choose a new password for your Calcapp account, open this link within "
            f"1 hour:\n\n{link}\n\n"
            "If you did not ask for this, you can ignore this message: your password has "
            "not changed." + SIGNATURE
        ),
    )
