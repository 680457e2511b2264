"""What an account's owner may take or erase (seed section 6, GDPR): the export of everything
held about them, and the deletion of the account.

Above `accounts`, `billing` and the history, since each of the two reaches into all three (a
deletion stops the charges on Stripe first; the export holds the payments and every
calculation).
"""
