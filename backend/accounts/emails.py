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


def email_changed(to: str, base_url: str, new_address: str, undo_token: str) -> Mail:
    """To the old address, when the email of the account changed."""
    link = f"{base_url}/account.html#undo-email={undo_token}"
    return Mail(
        to=to,
        subject="The email address of your Calcapp account was changed",
        text=(
            f"The email address of your Calcapp account was changed to {new_address}, and "
            "every other device was signed out.\n\n"
            "If this was not you, undo it within 7 days: this link puts this address back, "
            f"signs every device out and sends you a link to choose a new password:\n\n{link}"
            + SIGNATURE
        ),
    )


def password_changed(to: str, base_url: str) -> Mail:
    """To the account's address, when its password changed (or was reset)."""
    return Mail(
        to=to,
        subject="Your Calcapp password was changed",
        text=(
            "The password of your Calcapp account was just changed, and every other device "
            "was signed out.\n\n"
            'If this was not you, choose a new password now with "Forgot your password?" '
            f"at {base_url}/account.html, and check the email address of your account." + SIGNATURE
        ),
    )
